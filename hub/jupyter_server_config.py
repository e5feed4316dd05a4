# Jupyter Server's settings for the labkit course on a JupyterHub: hub/Dockerfile copies this file into the image's
# environment (VIRTUAL_ENV/etc/jupyter/), where every server started from the image reads it. See book/hub.md.
c = get_config()  # noqa: F821 (defined by Jupyter when it loads the file)

# Open JupyterLab (nbgitpuller's links name their own page).
c.ServerApp.default_url = "/lab"

# Each kernel holds 300-400 MB (book/hub.md, sizing) and a learner opens a notebook after the other: shut down the
# kernels idle for an hour, even when their tab is still open (their variables are lost, the notebook is not).
c.MappingKernelManager.cull_idle_timeout = 3600
c.MappingKernelManager.cull_interval = 300
c.MappingKernelManager.cull_connected = True
c.MappingKernelManager.cull_busy = False

# Terminals left open also hold memory: closed after an idle hour.
c.TerminalManager.cull_inactive_timeout = 3600
c.TerminalManager.cull_interval = 300
