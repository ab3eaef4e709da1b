"""The rating processor: scheduling, collection, the unit of work, RPC.

Modules, from the bottom up: ``locks`` (tooz locks per scope),
``schedule`` (which period is due), ``skip`` (the safe skip-expression
language), ``collect`` (one scope-period's usage), ``unit`` (rate, store
and advance state), ``reset`` (scope state reset), ``rpcapi`` /
``endpoints`` (the versioned oslo.messaging API), ``reprocess``
(reprocessing schedules) and ``service`` (the cotyledon workers).
"""
