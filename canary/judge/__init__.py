"""The sequential canary judge: canary against stable, anytime-valid, over HTTP."""
