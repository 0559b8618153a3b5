"""``POST /v1/jobs`` and ``GET /v1/jobs/{id}[/result]``: large images and batches, traced on
the Dask cluster by the app's :class:`~vectile.server.jobs.JobRunner`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from vectile.formats import SUFFIXES
from vectile.server import examples
from vectile.server.form import OutputRequest, output_form, trace_form
from vectile.server.jobs import Job, JobRunner, NotAnImage, TooManyJobs
from vectile.server.safety import SVG_CSP
from vectile.server.settings import ServerSettings
from vectile.server.tracing import TraceRequest, learned_edges_available

__all__ = ["router"]

router = APIRouter(tags=["jobs"])


@router.post(
    "/v1/jobs",
    status_code=202,
    responses=examples.JOB_POST_RESPONSES,
    openapi_extra=examples.JOBS_EXTRA,
)
async def create_job(
    request: Request,
    background: BackgroundTasks,
    images: Annotated[list[UploadFile], File(description="one or more images (repeat the field)")],
    options: Annotated[TraceRequest, Depends(trace_form)],
    written: Annotated[OutputRequest, Depends(output_form)],
) -> JSONResponse:
    """Queue large images or a batch; traced on the Dask cluster. Poll
    ``GET /v1/jobs/{id}`` until ``state`` is ``done`` (or ``failed``), then fetch
    ``GET /v1/jobs/{id}/result``. Files that are not images fail on their own; the others
    still run. ``format``, ``dpi`` and ``group_by`` choose what each file is written as,
    as for ``POST /v1/vectorize`` (default: the SVG)."""
    settings: ServerSettings = request.app.state.settings
    if len(images) > settings.max_batch_files:
        raise HTTPException(413, f"{len(images)} files in one job; the limit is {settings.max_batch_files}")
    if options.quality == "ai" and not await asyncio.to_thread(learned_edges_available):
        raise HTTPException(
            422,
            "quality 'ai' needs the learned edge model, which is not installed "
            "on this server; choose fast, balanced or high",
        )
    runner: JobRunner = request.app.state.runner
    try:
        job = await asyncio.to_thread(
            runner.create,
            [(f.filename, f.file) for f in images],
            options,
            {"format": written.format, "dpi": written.dpi, "group_by": written.group_by},
        )
    except TooManyJobs as exc:
        raise HTTPException(503, str(exc)) from exc
    except NotAnImage as exc:
        raise HTTPException(415, str(exc)) from exc
    background.add_task(runner.start, job)
    return JSONResponse(job.status(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/v1/jobs/{job_id}", responses=examples.JOB_GET_RESPONSES)
async def job_status(request: Request, job_id: str) -> dict[str, Any]:
    """A job's state (``queued``, ``running``, ``done``, ``failed``), progress from 0 to 1,
    and each file's state, error and statistics."""
    job = await _job(request, job_id)
    return job.status()


@router.get("/v1/jobs/{job_id}/result", response_class=Response, responses=examples.JOB_RESULT_RESPONSES)
async def job_result(request: Request, job_id: str) -> Response:
    """The output of a one-file job (the SVG, or the job's format), or a zip of every
    output plus ``manifest.json``."""
    runner: JobRunner = request.app.state.runner
    job = await _job(request, job_id)
    if job.state != "done":
        detail = f"job {job.id} is {job.state}" + (f": {job.error}" if job.error else "; try again later")
        raise HTTPException(409, detail)
    try:
        path, media_type = await asyncio.to_thread(runner.result, job)
    except FileNotFoundError as exc:  # deleted (expired) between the lookup and now
        raise HTTPException(404, "no such job (its results have expired)") from exc
    headers = {"Content-Security-Policy": SVG_CSP} if media_type == "image/svg+xml" else {}
    suffix = ".zip" if media_type == "application/zip" else SUFFIXES[job.written["format"]]
    return FileResponse(
        path,
        media_type=media_type,
        headers=headers,
        filename=f"vectile-{job.id}{suffix}",
        content_disposition_type="attachment",
    )


async def _job(request: Request, job_id: str) -> Job:
    """The job, or 404. The lookup runs in a thread: it may cancel an overdue job on Dask."""
    runner: JobRunner = request.app.state.runner
    job = await asyncio.to_thread(runner.get, job_id)
    if job is None:
        raise HTTPException(404, "no such job (unknown id, or its results have expired)")
    return job
