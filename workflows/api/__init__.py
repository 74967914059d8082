"""Workflows as JSON under /api/v1/workflows, with the same permissions as the pages.

Authentication, CSRF and errors work as for every API (see ils/api.py): the staff session cookie,
the ``X-CSRFToken`` header on writes, ``{"error", "status"}`` answers in the user's language.

Definitions   ``GET /definitions``, ``GET /definitions/<code>`` (every version, the newest's YAML).
Instances     ``GET /instances?library_id=&workflow=``; ``POST /instances`` {library_id, workflow};
              ``GET /instances/<id>`` (state, next step, possible actions, evidence, timeline);
              ``POST /instances/<id>/actions`` {transition, values, comment, revision}: a refused
              step answers ``422`` with ``"code"`` and the failed guard's message;
              ``POST /instances/<id>/tasks`` {task, done}; ``POST /instances/<id>/comments`` {comment};
              ``POST /instances/<id>/close`` {reason} (the DPK).
Instruments   ``GET /instruments`` and ``GET /instruments/<code>`` (the current version's structure).
Assessments   ``GET /assessments/<id>`` (answers, suggestions, score per component, total, grade);
              ``POST /assessments/<id>/answers`` {answers: {code: letter or null}, notes: {code: text}}.
Libraries     ``GET /libraries/<id>`` (figures, entered facts, SNP gaps, accreditation);
              ``PUT /libraries/<id>/facts`` {key: number or null}.
Goals         ``GET /goals``, ``POST /goals``, ``GET /goals/<id>`` (progress and history),
              ``PUT /goals/<id>``, ``POST /goals/<id>/values`` {taken_on, value, note}.
Activities    ``GET /activities?library_id=&from=&to=``, ``POST /activities``, ``PUT`` and ``DELETE
              /activities/<id>``.
IPLM          ``GET /iplm/<year>``; ``PUT /population/<year>`` {residents, pupils, students, employees, source}.

The routes live in ``runs`` (definitions, instruments, instances, assessments, libraries)
and ``planning`` (goals, activities, IPLM and population); importing this package registers both.
"""
from workflows.api import planning, runs  # noqa: F401  (the routes register on import)
