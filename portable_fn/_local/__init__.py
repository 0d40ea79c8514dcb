"""The local runtime behind ``portable-fn dev`` (private to portable-fn).

One process, no cloud account: a raw ASGI app for the HTTP routes and the CloudEvents
ingress (:mod:`.asgi`), a durable SQLite broker for topics, queues and the event bus
(:mod:`.store`, :mod:`.broker`), a scheduler (:mod:`.scheduler`), a polling bucket
folder watcher (:mod:`.buckets`) and the console reporter (:mod:`.report`).

Nothing here is imported by ``import portable_fn``: the CLI imports it inside ``dev``.
"""
