"""Staged MARC import: a batch per file, matched against the union catalog, reported per record.

The job reads the stored file in chunks. Each chunk (records, items, match keys, versions and
report rows) is committed in one transaction together with the batch's resume position, so a
worker killed mid-file and restarted continues where it stopped and creates nothing twice.

``starting`` stores an upload and queues its job (or queues a stopped one again), ``running`` is the
job's loop over the file's chunks, ``matching`` matches, stores and reports one chunk, and ``batches``
finds, lists and reverts batches and gives their report rows; the public names are imported here.
"""
from catalog.services.imports.batches import (OUTCOMES, batch_rows, get_batch, get_batch_unchecked, list_batches,
                                              revert_batch)
from catalog.services.imports.matching import ITEM_COLUMNS, ROW_COLUMNS
from catalog.services.imports.running import CHUNK, Checkpoint, fail_batch, run_import
from catalog.services.imports.starting import STALL_MINUTES, resumable, resume_import, start_import, upload_dir

__all__ = ["CHUNK", "ITEM_COLUMNS", "OUTCOMES", "ROW_COLUMNS", "STALL_MINUTES", "Checkpoint", "batch_rows",
           "fail_batch", "get_batch", "get_batch_unchecked", "list_batches", "resumable", "resume_import",
           "revert_batch", "run_import", "start_import", "upload_dir"]
