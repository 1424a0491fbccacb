"""The container target: the tasksync server and Toxiproxy as Docker containers (host
networking only), their locally built images, and clean-up without testcontainers' reaper.

    engine      whether a Docker engine answers, our labels, the sweep of leftovers
    images      the images, built here (no registry): `python -m syncbench.containers build`
    server      TasksyncContainer: a server container started, killed, paused, restarted
"""
