"""Imported at the start of every Python process with this folder on its path: only the servers
`bench.proxy_idle` starts (in them it takes the place of any other `sitecustomize`). With
`BENCH_PROBE_OUT` set it installs `bench.loop_probe`; otherwise it does nothing."""

import os

if os.environ.get("BENCH_PROBE_OUT"):
    from bench.loop_probe import install

    install(os.environ["BENCH_PROBE_OUT"])
