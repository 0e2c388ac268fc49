"""Tables and API shapes of the members domain.

A member is a person the group keeps in touch with (a dues-paying member, a volunteer, a
supporter). Member records are personal data: they stay on this node and are never federated.
A member is linked to a login account only by having the same email, so erasing one never
leaves a dangling reference in the other.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import Annotated, Any

import phonenumbers
import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, model_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow
from node.accounts.models import UserPublic
from node.canvass.models import WithdrawnSignup

WARD_MIN, WARD_MAX = 1, 50
PHONE_REGION = "US"  # a number written without +country code is read as a US number
NAME_MAX = 120
STREET_MAX = 200
CITY_MAX = 100
EMAIL_MAX = 320
PHONE_MAX = 32
POSTAL_CODE_MAX = 10
PRECINCT_MAX = 16
NOTES_MAX = 4000
LIST_ITEM_MAX = 64
LIST_MAX_ITEMS = 50
SOURCE_MAX = 32

_ZIP = re.compile(r"\d{5}(-\d{4})?")
# USPS codes: the states, DC, the territories, and the military "states".
US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY", "DC", "AS", "GU", "MP", "PR", "VI", "AA", "AE", "AP",
})  # fmt: skip


def today() -> date:
    # The server's local date: nodes run in Chicago, and a member who signs up at 8 pm
    # joined "today" there, not tomorrow in UTC.
    return date.today()


class Member(SQLModel, table=True):
    __tablename__ = "member"
    __table_args__ = (
        sa.CheckConstraint(f"ward BETWEEN {WARD_MIN} AND {WARD_MAX}", name="ward_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    given_name: str = Field(default="", max_length=NAME_MAX)
    family_name: str = Field(default="", max_length=NAME_MAX)
    # Lowercased on the way in; NULL (not "") when unknown so that uniqueness ignores it.
    email: str | None = Field(default=None, max_length=EMAIL_MAX, sa_column_kwargs={"unique": True})
    # E.164 (``+17735550100``) when set through the API, a form or an import.
    phone: str = Field(default="", max_length=PHONE_MAX)
    street_address: str = Field(default="", max_length=STREET_MAX)
    city: str = Field(default="", max_length=CITY_MAX)
    state: str = Field(default="", max_length=2)  # a USPS code: IL
    postal_code: str = Field(default="", max_length=POSTAL_CODE_MAX)
    ward: int | None = Field(default=None, index=True)
    precinct: str = Field(default="", max_length=PRECINCT_MAX)
    languages: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    sms_opt_in: bool = False
    share_contact_with_hosts: bool = False
    joined_date: date = Field(default_factory=today)
    notes: str = Field(default="", max_length=NOTES_MAX)
    # How the record came to be: "" when an organizer entered or imported it, "rsvp" when
    # a neighbour RSVPed to an event with an email the node did not know.
    source: str = Field(default="", max_length=SOURCE_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))


# ---- validation shared by the API and the CSV import ----------------------------------------


PHONE_HELP = (
    "Check the digits: a US number has 10 (like 773-555-0100); a number from another country "
    "starts with + and its country code (like +52 55 1234 5678)."
)


def normalized_phone(value: str) -> str:
    """A phone number as E.164 (``+17735550100``), read as a US number unless it starts with
    ``+``; ``ValueError`` with a plain message when it cannot be a real number."""
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValueError(f"This is not a phone number. {PHONE_HELP}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"This phone number does not exist. {PHONE_HELP}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(value: str) -> str:
    """A stored number as people write it: ``(773) 555-0100`` at home, ``+52 55 1234 5678``
    abroad; a number stored before numbers were checked is shown as it was typed."""
    if not value.startswith("+"):
        return value
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return value
    layout = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == PHONE_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, layout)


def _check_phone(value: str) -> str:
    value = value.strip()
    return normalized_phone(value) if value else value


def _check_state(value: str) -> str:
    value = value.strip().upper()
    if value and value not in US_STATES:
        raise ValueError("Use the two-letter code of a US state, such as IL.")
    return value


def _check_postal_code(value: str) -> str:
    value = value.strip()
    if value and not _ZIP.fullmatch(value):
        raise ValueError("Use a US ZIP code: 5 digits, or ZIP+4 such as 60614-1234.")
    return value


def _clean_list(values: list[str]) -> list[str]:
    # Blank entries are dropped and repeats collapsed, keeping the order a person gave.
    cleaned: list[str] = []
    for value in values:
        item = value.strip()
        if len(item) > LIST_ITEM_MAX:
            raise ValueError(f"Keep each entry to {LIST_ITEM_MAX} characters.")
        if item and item not in cleaned:
            cleaned.append(item)
    if len(cleaned) > LIST_MAX_ITEMS:
        raise ValueError(f"Give at most {LIST_MAX_ITEMS} entries.")
    return cleaned


def _strip(value: str) -> str:
    return value.strip()


Name = Annotated[str, AfterValidator(_strip), PydanticField(max_length=NAME_MAX)]
Phone = Annotated[str, PydanticField(max_length=PHONE_MAX), AfterValidator(_check_phone)]
Street = Annotated[str, AfterValidator(_strip), PydanticField(max_length=STREET_MAX)]
City = Annotated[str, AfterValidator(_strip), PydanticField(max_length=CITY_MAX)]
State = Annotated[str, PydanticField(max_length=2), AfterValidator(_check_state)]
PostalCode = Annotated[
    str, PydanticField(max_length=POSTAL_CODE_MAX), AfterValidator(_check_postal_code)
]
Ward = Annotated[int, PydanticField(ge=WARD_MIN, le=WARD_MAX)]
Precinct = Annotated[str, AfterValidator(_strip), PydanticField(max_length=PRECINCT_MAX)]
StringList = Annotated[list[str], AfterValidator(_clean_list)]
Notes = Annotated[str, PydanticField(max_length=NOTES_MAX)]
Email = Annotated[EmailStr, PydanticField(max_length=EMAIL_MAX)]


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    given_name: Name = ""
    family_name: Name = ""
    email: Email | None = None
    phone: Phone = ""
    street_address: Street = ""
    city: City = ""
    state: State = ""
    postal_code: PostalCode = ""
    ward: Ward | None = None
    precinct: Precinct = ""
    languages: StringList = []
    tags: StringList = []
    sms_opt_in: bool = False
    share_contact_with_hosts: bool = False
    joined_date: date | None = PydanticField(default=None, description="Defaults to today.")
    notes: Notes = ""

    @model_validator(mode="after")
    def _someone(self) -> MemberCreate:
        if not (self.given_name or self.family_name or self.email):
            raise ValueError("Give at least a name or an email.")
        return self


class MemberUpdate(BaseModel):
    """A partial change: only the fields sent are changed; null clears email and ward."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    given_name: Name | None = None
    family_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    street_address: Street | None = None
    city: City | None = None
    state: State | None = None
    postal_code: PostalCode | None = None
    ward: Ward | None = None
    precinct: Precinct | None = None
    languages: StringList | None = None
    tags: StringList | None = None
    sms_opt_in: bool | None = None
    share_contact_with_hosts: bool | None = None
    joined_date: date | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> MemberUpdate:
        # Only email and ward may be cleared with null; every other field has a value.
        for name in self.model_fields_set - {"email", "ward"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; send an empty value instead.")
        return self


class MemberPublic(BaseModel):
    id: int
    given_name: str
    family_name: str
    email: str | None
    phone: str = PydanticField(description="E.164, e.g. +17735550100 (older records: as typed).")
    street_address: str
    city: str
    state: str
    postal_code: str
    ward: int | None
    precinct: str
    languages: list[str]
    tags: list[str]
    sms_opt_in: bool
    share_contact_with_hosts: bool
    joined_date: date
    notes: str
    source: str = PydanticField(description='"rsvp" for a record made by an RSVP; else "".')
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberPublic:
        return cls.model_validate(member, from_attributes=True)


class MemberImportResult(BaseModel):
    dry_run: bool = PydanticField(description="True when nothing was written.")
    rows: int = PydanticField(description="Data rows read (empty lines are not counted).")
    created: int
    updated: int = PydanticField(description="Rows whose email matched an existing member.")
    ignored_columns: list[str] = PydanticField(
        description="Columns of the file this node does not know; their values were not read."
    )
    ignored_column_count: int


class ImportStatus(enum.StrEnum):
    """Where an import stands: ``checking -> saving -> done``, or it ends ``rejected`` (rows
    are wrong) or ``failed`` (the node could not finish); both of those imported nothing."""

    checking = "checking"
    saving = "saving"
    done = "done"
    rejected = "rejected"
    failed = "failed"

    @property
    def is_running(self) -> bool:
        return self in (ImportStatus.checking, ImportStatus.saving)


class MemberImport(SQLModel, table=True):
    """One CSV import run in the background, so that its page can show progress, then the
    report. It holds counts, row numbers, column names and messages: no member's data."""

    __tablename__ = "member_import"

    id: int | None = Field(default=None, primary_key=True)
    status: ImportStatus = Field(sa_column=sa.Column(enum_column(ImportStatus), nullable=False))
    rows: int = 0  # data rows in the file
    rows_checked: int = 0
    created: int = 0
    updated: int = 0
    ignored_columns: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    problem_rows: int = 0  # rows with at least one problem
    # The first problems, as {"row": n, "column": header name, "message": ...}.
    problems: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    message: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class MemberDataExport(BaseModel):
    """Everything this node keeps about one member, as an organizer may hand it over."""

    member: MemberPublic
    account: UserPublic | None = PydanticField(
        description="The login account with the same email, if there is one."
    )
    exported_at: datetime


class MyData(BaseModel):
    """Everything this node keeps about the caller."""

    account: UserPublic
    members: list[MemberPublic] = PydanticField(
        description="Member records with the account's email."
    )
    exported_at: datetime


class ErasureReceipt(BaseModel):
    members_erased: int
    account_closed: bool
    canvass_signups_withdrawn: list[WithdrawnSignup] = PydanticField(
        description="Her sign-ups that were still active, each withdrawn as she would herself."
    )


def member_values(data: BaseModel) -> dict[str, Any]:
    """The fields a client set, ready for the table (email lowercased)."""
    values = data.model_dump(exclude_unset=True)
    if values.get("email") is not None:
        values["email"] = values["email"].lower()
    return values
