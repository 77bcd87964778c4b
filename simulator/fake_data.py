"""Realistic customer and address values from Faker, reproducible from one seed.

Each locale gets its own Faker instance seeded from the simulator's seed, and the locale of
each row is drawn from the simulator's RNG: Faker's multi-locale proxy would pick locales
with its own, unseeded randomness. Dates of birth are computed from the simulated clock
because Faker's date providers read today's date.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from faker import Faker


@dataclass(frozen=True, slots=True)
class _Locale:
    code: str
    country: str
    weight: int


# Mostly US, some others: non-ASCII names and streets exercise the pipelines' hashing.
_LOCALES = (
    _Locale("en_US", "US", 60),
    _Locale("en_GB", "GB", 15),
    _Locale("de_DE", "DE", 10),
    _Locale("fr_FR", "FR", 10),
    _Locale("en_CA", "CA", 5),
)

# Occasional NULLs in nullable columns, so consumers see NULL handling too.
_NULL_RATE = 0.05


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class RowFactory:
    def __init__(self, seed: int, rng: random.Random) -> None:
        self._rng = rng
        seeder = random.Random(seed)
        self._fakers: list[tuple[_Locale, Faker]] = []
        for locale in _LOCALES:
            # use_weighting=False: about 4x faster, and realism of name frequencies is irrelevant.
            fake = Faker(locale.code, use_weighting=False)
            fake.seed_instance(seeder.getrandbits(64))
            self._fakers.append((locale, fake))
        self._weights = [locale.weight for locale in _LOCALES]

    def _pick(self) -> tuple[_Locale, Faker]:
        return self._rng.choices(self._fakers, weights=self._weights)[0]

    def _maybe(self, value: str) -> str | None:
        return None if self._rng.random() < _NULL_RATE else value

    def _email(self, fake: Faker, first: str, last: str) -> str:
        suffix = str(self._rng.randrange(100)) if self._rng.random() < 0.5 else ""
        return f"{_ascii_slug(first)}.{_ascii_slug(last)}{suffix}@{fake.free_email_domain()}"

    def _dob(self, now: datetime) -> date:
        # Adults aged 18 to 90 at the simulated time.
        return now.date() - timedelta(days=self._rng.randrange(18 * 365, 90 * 365))

    def customer(self, customer_id: str, now: datetime) -> dict[str, Any]:
        _, fake = self._pick()
        first, last = fake.first_name(), fake.last_name()
        return {
            "id": customer_id,
            "first_name": first,
            "last_name": last,
            "email": self._maybe(self._email(fake, first, last)),
            "phone": self._maybe(fake.phone_number()),
            "dob": self._dob(now) if self._rng.random() >= _NULL_RATE else None,
            "created_at": now,
            "updated_at": now,
        }

    def customer_update(self, now: datetime) -> dict[str, Any]:
        """One or two changed attributes: a new email, phone or (marriage) last name."""
        _, fake = self._pick()
        values: dict[str, Any] = {"updated_at": now}
        for field in self._rng.sample(["email", "phone", "last_name"], k=self._rng.randint(1, 2)):
            if field == "email":
                values["email"] = self._maybe(self._email(fake, fake.first_name(), fake.last_name()))
            elif field == "phone":
                values["phone"] = self._maybe(fake.phone_number())
            else:
                values["last_name"] = fake.last_name()
        return values

    def address_fields(self) -> dict[str, Any]:
        locale, fake = self._pick()
        return {
            "street": fake.street_address(),
            "city": fake.city(),
            "state": self._maybe(fake.administrative_unit()),
            "zip_code": self._maybe(fake.postcode()),
            "country": locale.country,
        }

    def address(self, address_id: str, customer_id: str, address_type: str, now: datetime) -> dict[str, Any]:
        return {
            "id": address_id,
            "customer_id": customer_id,
            "address_type": address_type,
            **self.address_fields(),
            "updated_at": now,
        }
