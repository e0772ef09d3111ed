-- 001: initial schema. InnoDB + utf8mb4 throughout.
-- Must match shared/models.py (tests/test_schema_drift.py checks it).

CREATE TABLE blocks (
    id INTEGER NOT NULL AUTO_INCREMENT,
    blocker_role VARCHAR(16) NOT NULL,
    blocker_id INTEGER NOT NULL,
    blocked_role VARCHAR(16) NOT NULL,
    blocked_id INTEGER NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_blocks_pair UNIQUE (blocker_role, blocker_id, blocked_role, blocked_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_blocks_blocked ON blocks (blocked_role, blocked_id);

CREATE TABLE events (
    id BIGINT NOT NULL AUTO_INCREMENT,
    room VARCHAR(100) NOT NULL,
    type VARCHAR(64) NOT NULL,
    seq BIGINT,
    data TEXT NOT NULL,
    request_id VARCHAR(64),
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_events_created ON events (created_at);
CREATE INDEX ix_events_room ON events (room, id);

CREATE TABLE mentor_profiles (
    mentor_id INTEGER NOT NULL,
    sectors JSON NOT NULL,
    skills JSON NOT NULL,
    languages JSON NOT NULL,
    max_mentees INTEGER,
    accepting BOOL NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (mentor_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;


CREATE TABLE notifications (
    id BIGINT NOT NULL AUTO_INCREMENT,
    recipient_role VARCHAR(16) NOT NULL,
    recipient_id INTEGER NOT NULL,
    type VARCHAR(64) NOT NULL,
    title VARCHAR(200) NOT NULL,
    body TEXT,
    link VARCHAR(500),
    data JSON,
    created_at DATETIME(6) NOT NULL,
    read_at DATETIME(6),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_notifications_recipient ON notifications (recipient_role, recipient_id, id);

CREATE TABLE relationships (
    id INTEGER NOT NULL AUTO_INCREMENT,
    mentor_id INTEGER NOT NULL,
    student_id INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL,
    requested_by VARCHAR(16) NOT NULL,
    request_message TEXT,
    match_score INTEGER,
    response_reason TEXT,
    end_reason TEXT,
    ended_by_role VARCHAR(16),
    ended_by_id INTEGER,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    responded_at DATETIME(6),
    ended_at DATETIME(6),
    active_student_id INTEGER GENERATED ALWAYS AS (CASE WHEN status = 'active' THEN student_id END) STORED,
    pending_mentor_id INTEGER GENERATED ALWAYS AS (CASE WHEN status = 'pending' THEN mentor_id END) STORED,
    PRIMARY KEY (id),
    CONSTRAINT uq_relationships_active_student UNIQUE (active_student_id),
    CONSTRAINT uq_relationships_pending_pair UNIQUE (student_id, pending_mentor_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_relationships_mentor_status ON relationships (mentor_id, status);
CREATE INDEX ix_relationships_student_status ON relationships (student_id, status);

CREATE TABLE student_needs (
    student_id INTEGER NOT NULL,
    sectors JSON NOT NULL,
    skills JSON NOT NULL,
    languages JSON NOT NULL,
    goals TEXT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (student_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;


CREATE TABLE activities (
    id BIGINT NOT NULL AUTO_INCREMENT,
    relationship_id INTEGER NOT NULL,
    actor_role VARCHAR(16) NOT NULL,
    actor_id INTEGER NOT NULL,
    kind VARCHAR(40) NOT NULL,
    text TEXT,
    details JSON,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_activities_relationship FOREIGN KEY(relationship_id) REFERENCES relationships (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_activities_relationship ON activities (relationship_id, id);

CREATE TABLE conversations (
    id INTEGER NOT NULL AUTO_INCREMENT,
    type VARCHAR(16) NOT NULL,
    title VARCHAR(200),
    owner_role VARCHAR(16),
    owner_id INTEGER,
    relationship_id INTEGER,
    direct_key VARCHAR(64),
    last_message_id BIGINT,
    last_seq BIGINT NOT NULL,
    last_activity_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_conversations_direct_key UNIQUE (direct_key),
    CONSTRAINT uq_conversations_relationship UNIQUE (relationship_id),
    CONSTRAINT fk_conversations_relationship FOREIGN KEY(relationship_id) REFERENCES relationships (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_conversations_activity ON conversations (last_activity_at, id);

CREATE TABLE goals (
    id INTEGER NOT NULL AUTO_INCREMENT,
    relationship_id INTEGER NOT NULL,
    title VARCHAR(200) NOT NULL,
    description TEXT,
    status VARCHAR(16) NOT NULL,
    priority VARCHAR(8) NOT NULL,
    progress INTEGER NOT NULL,
    target_date DATE,
    completed_at DATETIME(6),
    created_by_role VARCHAR(16) NOT NULL,
    created_by_id INTEGER NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_goals_relationship FOREIGN KEY(relationship_id) REFERENCES relationships (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_goals_relationship ON goals (relationship_id, id);

CREATE TABLE messages (
    id BIGINT NOT NULL AUTO_INCREMENT,
    conversation_id INTEGER NOT NULL,
    sender_role VARCHAR(16) NOT NULL,
    sender_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    parent_id BIGINT,
    client_msg_id VARCHAR(64),
    reply_count INTEGER NOT NULL,
    created_at DATETIME(6) NOT NULL,
    edited_at DATETIME(6),
    deleted_at DATETIME(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_messages_client_msg UNIQUE (sender_role, sender_id, client_msg_id),
    CONSTRAINT fk_messages_conversation FOREIGN KEY(conversation_id) REFERENCES conversations (id),
    CONSTRAINT fk_messages_parent FOREIGN KEY(parent_id) REFERENCES messages (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE FULLTEXT INDEX ft_messages_body ON messages (body);
CREATE INDEX ix_messages_conversation ON messages (conversation_id, id);
CREATE INDEX ix_messages_parent ON messages (parent_id);

CREATE TABLE participants (
    id INTEGER NOT NULL AUTO_INCREMENT,
    conversation_id INTEGER NOT NULL,
    `role` VARCHAR(16) NOT NULL,
    principal_id INTEGER NOT NULL,
    joined_at DATETIME(6) NOT NULL,
    left_at DATETIME(6),
    left_message_id BIGINT,
    last_read_message_id BIGINT,
    last_read_at DATETIME(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_participants_member UNIQUE (conversation_id, `role`, principal_id),
    CONSTRAINT fk_participants_conversation FOREIGN KEY(conversation_id) REFERENCES conversations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_participants_principal ON participants (`role`, principal_id, conversation_id);

