"""Finding the one instrument a request names, or answering 200 as TWS does."""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.contracts import ContractBook, Instrument
from tradd.simgw.orders import contract_query
from tradd.simgw.session import ClientSession

NO_SECURITY = "No security definition has been found for the request"


def one_instrument(
    book: ContractBook, session: ClientSession, req_id: int, fields: list[str], at: int
) -> Instrument | None:
    """The instrument of the contract block at ``fields[at]``; None (after 200) unless unique."""
    matches = book.find(contract_query(fields, at))
    if len(matches) != 1:
        session.send(encode.error(req_id, 200, NO_SECURITY))
        return None
    return matches[0]
