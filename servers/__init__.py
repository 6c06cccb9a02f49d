"""What every runtime shares: settings, input validation, the fault switch and metrics.

Runtime modules (``mlserver_runtime``, ``seldon_runtime``) are thin adapters over
``servers.predictor.Predictor``; nothing here imports a serving framework.
"""
