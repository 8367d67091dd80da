"""What the register's figures and the meetings' counts tell a reader outside the branch (issue 13):
only what their scope covers. Who may open which page is tests/core/test_authorisation_matrix.py."""

from branchops.coordination import services as coordination


def _stats_page(login, user):
    return login(user).get("/coordination/").context["stats"]


def _stats_api(login, user):
    return login(user).get("/api/v1/coordination/register/statistics").json()


def test_register_statistics_count_only_the_readers_work_orders(coord_bank, released, login):
    b = coord_bank
    released()  # to o11, o12 and o21: three work orders
    for figures in (_stats_page, _stats_api):
        assert figures(login, b.users["sec1"])["work_orders"] == 3
        assert figures(login, b.users["staff11"])["work_orders"] == 1  # its own outlet's, not the branch's
        assert figures(login, b.users["staff21"])["work_orders"] == 1
        assert figures(login, b.users["sb1mgr"])["work_orders"] == 2  # the sub-branch's two outlets
        assert figures(login, b.users["staff11"])["items"] == 1  # the decided item itself stays visible


def test_meeting_counts_only_the_items_the_reader_sees(coord_bank, draft, login):
    b = coord_bank
    item = coordination.submit_item(b.users["pfb1"], draft())  # undecided: the outlets do not see it
    meeting = item.meeting
    for user, seen in (("sec1", 1), ("pfb1", 1), ("staff11", 0), ("head11", 0)):
        rows = login(b.users[user]).get("/api/v1/coordination/meetings").json()["items"]
        assert [r["items"] for r in rows if r["id"] == meeting.pk] == [seen], user
        page = login(b.users[user]).get("/coordination/meetings/")
        assert [m.n_items for m in page.context["page"] if m.pk == meeting.pk] == [seen], user
        if not seen:
            assert item.number not in login(b.users[user]).get(f"/coordination/meetings/{meeting.pk}/").content.decode()


def test_outlets_get_no_minutes_link_on_the_meeting_page(coord_bank, draft, login):
    b = coord_bank
    meeting = coordination.submit_item(b.users["pfb1"], draft()).meeting
    # A draft's minutes: the secretariat (and the chair) only; the submitting department reads them once approved.
    for user, offered in (("sec1", True), ("pfb1", False), ("staff11", False), ("sb1mgr", False)):
        page = login(b.users[user]).get(f"/coordination/meetings/{meeting.pk}/").content.decode()
        assert (f"/coordination/meetings/{meeting.pk}/minutes.docx" in page) is offered, user
