"""The `govdesk` command: `govdesk demo`, `govdesk serve`, `govdesk worker`,
`govdesk import KIND FILE ...`, `govdesk export KIND FILE ...`, `govdesk audit verify`,
`govdesk createadmin`, `govdesk veterans sync-client ...`, and every Django management command."""

import os
import sys

ALIASES = {"import": "import_table", "export": "export_table"}
# two-word commands: `govdesk veterans sync-client ...` runs `veterans_sync_client ...`
SUBCOMMANDS = {("veterans", "sync-client"): "veterans_sync_client", ("veterans", "rollup"): "veterans_rollup",
               ("veterans", "prune-uploads"): "veterans_prune_uploads", ("invest", "escalate"): "invest_escalate"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdesk.settings")
    if len(argv) > 1 and argv[1] in ALIASES:
        argv[1] = ALIASES[argv[1]]
    if len(argv) > 2 and (argv[1], argv[2]) in SUBCOMMANDS:
        argv[1:3] = [SUBCOMMANDS[(argv[1], argv[2])]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
