"""The push delivery engine: VAPID, payload encryption, sending, retries, pruning, the worker.

It knows nothing of pages. The app uses four things:

- ``push.subscriptions.save_subscription`` / ``remove_subscription`` when a browser opts in
  or out;
- ``push.outbox.enqueue`` to write deliveries (the one place that creates them);
- ``push.outbox.campaign_stats`` to report on them;
- ``push.worker.PushWorker`` to drain the outbox (``relay worker``, or embedded in the app).
"""
