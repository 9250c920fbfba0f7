import pytest

from hephaestus.workspace import Workspace, WorkspaceError


def test_resume_with_the_same_config_and_refusal_with_another(tmp_path):
    ws = Workspace(tmp_path)
    ws.begin_stage("collect", {"sources": ["a"]})
    ws.mark_done("collect", "t1", {"records_out": 1})
    ws.begin_stage("collect", {"sources": ["a"]})
    assert ws.is_done("collect", "t1")
    with pytest.raises(WorkspaceError, match=r"different collect config.*--restart"):
        ws.begin_stage("collect", {"sources": ["b"]})
    ws.begin_stage("collect", {"sources": ["b"]}, restart=True)
    assert not ws.is_done("collect", "t1")
    assert ws.stages() == ["collect"]
