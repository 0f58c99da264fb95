"""Writes the Parquet fixtures of core's contract tests with real pyarrow (not committed as a venv):

    python3 -m venv /tmp/venv-pq && /tmp/venv-pq/bin/pip install pyarrow
    /tmp/venv-pq/bin/python core/src/test/resources/contract/make_parquet.py core/src/test/resources/contract

customers.parquet        the recorded data: string, int64, double, bool, timestamp[us], date, decimal(10,2),
                         a list of strings and a nested struct (address.city, address.zip)
customers_broken.parquet next quarter's data, broken: support_calls dropped, tenure_months now a string,
                         a column region added
The files are small (a few KB) and deterministic for one pyarrow version; the tests read only their footers.
"""
import datetime
import decimal
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 5


def columns(broken: bool) -> dict:
    ids = list(range(1, ROWS + 1))
    cols = {
        "customer_id": pa.array(ids, pa.int64()),
        "tenure_months": pa.array([str(i * 3) for i in ids] if broken else [i * 3 for i in ids],
                                  pa.string() if broken else pa.int64()),
        "monthly_charges": pa.array([19.5 + i for i in ids], pa.float64()),
        "support_calls": pa.array([i % 3 for i in ids], pa.int64()),
        "churned": pa.array([i % 2 == 0 for i in ids], pa.bool_()),
        "segment": pa.array(["smb", "ent", "smb", "consumer", "ent"], pa.string()),
        "signed_up": pa.array([datetime.datetime(2026, 1, i) for i in ids], pa.timestamp("us")),
        "first_bill": pa.array([datetime.date(2026, 2, i) for i in ids], pa.date32()),
        "balance": pa.array([decimal.Decimal(f"{i}.25") for i in ids], pa.decimal128(10, 2)),
        "tags": pa.array([["a"], [], ["b", "c"], ["a"], []], pa.list_(pa.string())),
        "address": pa.array([{"city": "Lyon", "zip": 69000 + i} for i in ids],
                            pa.struct([("city", pa.string()), ("zip", pa.int32())])),
    }
    if broken:
        del cols["support_calls"]
        cols["region"] = pa.array(["eu"] * ROWS, pa.string())
    return cols


def main(out: str) -> int:
    os.makedirs(out, exist_ok=True)
    for name, broken in (("customers.parquet", False), ("customers_broken.parquet", True)):
        path = os.path.join(out, name)
        pq.write_table(pa.table(columns(broken)), path, compression="none")
        print(f"wrote {path}: {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))))
