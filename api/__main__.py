"""Development server: `python -m api` (production runs gunicorn on api.wsgi:app)."""
from api import create_app, periodic
from shared.config import load_or_exit
from shared.logs import configure_logging


def main() -> None:
    configure_logging("api")
    config = load_or_exit()
    app = create_app(config)
    periodic.start(app)
    app.run(host="127.0.0.1", port=config.api_port, threaded=True)


if __name__ == "__main__":
    main()
