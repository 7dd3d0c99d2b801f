"""The on-disk spool, on a real temporary directory: order, restarts, torn writes, limits."""

from __future__ import annotations

from pathlib import Path

from producers.spool import Spool


def fill(spool: Spool, n: int, start: int = 0, size: int = 10) -> None:
    for i in range(start, start + n):
        spool.append("interactions.raw", b"dev", f"{i:0{size}d}".encode())


def drain(spool: Spool) -> list[int]:
    out: list[int] = []
    while batch := spool.read(7, 1 << 20):
        out.extend(int(r.value) for r in batch)
        spool.commit(batch[-1].end)
    return out


def test_records_come_back_in_order_with_topic_and_key(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20, segment_bytes=200)
    fill(spool, 50)
    first = spool.read(1, 100)[0]
    assert (first.topic, first.key, first.value) == ("interactions.raw", b"dev", b"0000000000")
    spool.commit(first.end)
    assert drain(spool) == list(range(1, 50))
    assert spool.unread == 0
    assert len(list(tmp_path.glob("*.seg"))) <= 2  # delivered segments are deleted


def test_undelivered_records_survive_a_restart_and_delivered_ones_do_not_come_back(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20, segment_bytes=300)
    fill(spool, 40)
    batch = spool.read(15, 1 << 20)
    spool.commit(batch[9].end)  # 10 delivered, 5 in flight when the process dies
    spool.save_cursor()
    del spool  # no close(): as after SIGKILL
    again = Spool(tmp_path, 1 << 20, segment_bytes=300)
    assert again.unread == 30
    fill(again, 5, start=40)
    assert drain(again) == list(range(10, 45))


def test_a_torn_record_at_the_end_is_cut_off(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    fill(spool, 3)
    spool.close()
    seg = sorted(tmp_path.glob("*.seg"))[-1]
    with seg.open("ab") as f:
        f.write(b"\x30\x00\x00\x00garbage")  # a crash in the middle of an append
    again = Spool(tmp_path, 1 << 20)
    assert drain(again) == [0, 1, 2]


def test_a_full_spool_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 2000, segment_bytes=500)
    fill(spool, 200)  # each record takes 39 bytes on disk: far more than fits
    kept = drain(spool)
    assert kept == list(range(200 - len(kept), 200))  # the newest, in order
    assert spool.dropped == 200 - len(kept)
    assert spool.size <= 2000


def test_drops_are_counted_per_topic_across_a_restart_and_for_a_record_larger_than_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 2000, segment_bytes=500)
    for i in range(40):
        spool.append("screens.raw" if i % 4 == 0 else "interactions.raw", b"dev", f"{i:010d}".encode())
    spool.read(3, 1 << 20)  # records 0..2 handed to the sender: in flight, not dropped if their segment goes
    del spool  # killed: the next agent counts what the segments hold from the files
    again = Spool(tmp_path, 2000, segment_bytes=500)
    for i in range(40, 100):
        again.append("screens.raw" if i % 4 == 0 else "interactions.raw", b"dev", f"{i:010d}".encode())
    again.append("screens.raw", b"dev", b"x" * 3000)  # larger than the whole spool
    kept = drain(again)
    lost = [i for i in range(100) if i not in kept]
    frames = sum(1 for i in lost if i % 4 == 0)
    assert again.dropped_by_topic == {"screens.raw": frames + 1, "interactions.raw": len(lost) - frames}
    assert again.dropped == len(lost) + 1 and frames > 0


def test_records_in_flight_are_not_counted_as_dropped(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 2000, segment_bytes=500)
    fill(spool, 10)
    spool.read(10, 1 << 20)  # all handed to the sender
    fill(spool, 100, start=10)
    assert spool.dropped == 100 - len(drain(spool))
