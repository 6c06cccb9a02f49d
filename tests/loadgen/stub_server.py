"""A real HTTP server with scripted behaviour, for load generator tests.

``python -m tests.loadgen.stub_server --port P [--versions v1:0.7,v2:0.3] [--error-ratio R]
[--delay-ms N] [--stall-at S --stall-for S] [--no-header]``; the stall starts S seconds
after the first request arrives.
"""

import argparse
import asyncio
import json
import random
import time

from aiohttp import web


def build_app(args) -> web.Application:
    rng = random.Random(args.seed)
    names, weights = zip(*[(part.split(":")[0], float(part.split(":")[1])) for part in args.versions.split(",")])
    first_request: list[float] = []  # the stall is timed from the first request, not from start-up

    async def infer(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            json.loads(body)
        except ValueError:
            return web.json_response({"error": "malformed JSON"}, status=422)
        if not first_request:
            first_request.append(time.monotonic())
        now = time.monotonic() - first_request[0]
        if args.stall_for and args.stall_at <= now < args.stall_at + args.stall_for:
            await asyncio.sleep(args.stall_at + args.stall_for - now)
        if args.delay_ms:
            await asyncio.sleep(args.delay_ms / 1000)
        # --pin-header NAME: a request carrying that header is answered by the version it names.
        version = request.headers.get(args.pin_header) if args.pin_header else None
        version = version or rng.choices(names, weights)[0]
        status = 500 if rng.random() < args.error_ratio else 200
        headers = {} if args.no_header else {"x-model-version": version}
        return web.json_response({"model_version": version, "outputs": []}, status=status, headers=headers)

    app = web.Application()
    app.router.add_post("/v2/models/{name}/infer", infer)
    app.router.add_get("/ready", lambda request: web.Response(text="ok"))
    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--versions", default="v1:1")
    p.add_argument("--error-ratio", type=float, default=0.0)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--stall-at", type=float, default=0.0)
    p.add_argument("--stall-for", type=float, default=0.0)
    p.add_argument("--no-header", action="store_true")
    p.add_argument("--pin-header", default="")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    web.run_app(build_app(args), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
