"""The mail page (admins): what the node sent or is about to send, and, when no SMTP server is
set, the messages themselves, read from the mail folder's copy (the demo, a laptop)."""

from __future__ import annotations

from email import message_from_string, policy
from email.message import EmailMessage
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from node.deps import RowId, SessionDep
from node.errors import NotFound
from node.mail import repository
from node.web.deps import PageAdmin
from node.web.rendering import page_router, render

router = page_router()
PER_PAGE = 50


class MessageNotFound(NotFound):
    code = "mail_not_found"

    def __init__(self, message: str = "There is no such message in the mail queue.") -> None:
        super().__init__(message)


@router.get("/mail", response_class=HTMLResponse)
async def mail_page(
    request: Request,
    session: SessionDep,
    admin: PageAdmin,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    messages, total = await repository.list_messages(
        session, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    settings = request.app.state.settings
    return render(
        request,
        "mail.html",
        {
            "messages": messages,
            "page": page,
            "has_next": page * PER_PAGE < total,
            "total": total,
            "smtp_host": settings.smtp_host,
            "folder": settings.mail_folder,
        },
    )


def _parsed(raw: str) -> EmailMessage:
    parsed: EmailMessage = message_from_string(raw, policy=policy.default)
    return parsed


@router.get("/mail/{message_id}", response_class=HTMLResponse)
async def message_page(
    request: Request, session: SessionDep, admin: PageAdmin, message_id: RowId
) -> HTMLResponse:
    message = await repository.get_message(session, message_id)
    if message is None:
        raise MessageNotFound()
    email = _parsed(message.raw) if message.raw else None
    body = email.get_body(preferencelist=("plain",)) if email else None
    attachments = list(email.iter_attachments()) if email else []
    return render(
        request,
        "mail_message.html",
        {
            "message": message,
            "email": email,
            "text": body.get_content() if body is not None else None,
            "attachments": [part.get_filename() or "attachment" for part in attachments],
        },
    )


@router.get("/mail/{message_id}/attachments/{number}")
async def attachment(
    session: SessionDep,
    admin: PageAdmin,
    message_id: RowId,
    number: Annotated[int, Path(ge=0, le=100)],
) -> Response:
    message = await repository.get_message(session, message_id)
    if message is None or not message.raw:
        raise MessageNotFound()
    parts = list(_parsed(message.raw).iter_attachments())
    if not 0 <= number < len(parts):
        raise MessageNotFound("That message has no such attachment.")
    part = parts[number]
    filename = (part.get_filename() or "attachment").replace('"', "")
    return Response(
        content=part.get_payload(decode=True) or b"",
        media_type=part.get_content_type(),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
