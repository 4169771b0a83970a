"""`regress ui`: a local Prefect server with the deployments and a worker."""

from __future__ import annotations

import argparse
from typing import Any

from regress_cli.paths import add_home


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    ui = commands.add_parser("ui", help="a local Prefect server with the deployments and a worker", parents=[common])
    ui_commands = ui.add_subparsers(dest="ui_command", required=True)
    start = ui_commands.add_parser("start", help="start server, work pool, deployments and worker", parents=[common])
    start.add_argument("--port", type=int, default=None, help="port to serve on (default 4200, or a free one)")
    start.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to serve on (default 127.0.0.1); any other needs PREFECT_SERVER_API_AUTH_STRING set",
    )
    notify_help = "send the model-event automations to this notification block (block-type/block-name)"
    start.add_argument("--notify", metavar="BLOCK", help=notify_help)
    stop = ui_commands.add_parser("stop", help="stop worker and server", parents=[common])
    automations = ui_commands.add_parser(
        "automations",
        help="install the model-event automations on the server PREFECT_API_URL names",
        parents=[common],
    )
    automations.add_argument("--notify", metavar="BLOCK", help=notify_help)
    for parser in (start, stop):
        add_home(parser)


def run(args: argparse.Namespace) -> int:
    from regress_cli import local_server
    from regress_cli.render import print_ui_started
    from regress_core.pipeline.workspace import Workspace

    if args.ui_command == "automations":
        from regress_cli.automations import install_all

        print(f"installed automations: {', '.join(install_all(args.notify))}")
        return 0
    ws = Workspace.at(args.home)
    if args.ui_command == "stop":
        print("stopped" if local_server.stop(ws) else "nothing was running")
        return 0
    local_server.check_bind(args.host)  # before anything starts
    print(
        "starting the Prefect server, work pool, deployments and worker (first start migrates a database) ...",
        flush=True,
    )
    print_ui_started(local_server.start(ws, port=args.port, notify=args.notify, host=args.host))
    return 0
