"""The `govdesk` command: `govdesk demo`, `govdesk serve`, `govdesk worker`,
`govdesk import KIND FILE ...`, `govdesk export KIND FILE ...`, `govdesk audit verify`,
`govdesk createadmin`, and every Django management command."""

import os
import sys

ALIASES = {"import": "import_table", "export": "export_table"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdesk.settings")
    if len(argv) > 1 and argv[1] in ALIASES:
        argv[1] = ALIASES[argv[1]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
