"""How the tier tells a real plugin from a stand-in in the tools cache (tests/integration/tools.py)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.tools import (
    Tools,
    plugins_report,
    real_tls_missing_reason,
    sdk_plugin_version,
)

STANDIN = "#!/usr/bin/env bash\n# TEST TOOLING (tools/standins/install): a stand-in for {name}.\nexec true\n"
ELF = b"\x7fELF\x02\x01\x01" + bytes(64)


def _put(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(0o755)


def test_each_plugin_is_real_stand_in_or_absent_by_what_the_cache_holds(tmp_path: Path) -> None:
    tools = Tools(tmp_path)
    command = sdk_plugin_version("pulumi_command")
    tls = sdk_plugin_version("pulumi_tls")
    _put(tools.bin / "pulumi-language-python", ELF)
    _put(tools.provider_plugin("command", command), STANDIN.format(name="command").encode())
    assert tools.plugin_kinds() == {
        "pulumi-language-python": "real",
        f"pulumi-resource-command v{command}": "stand-in",
        f"pulumi-resource-tls v{tls}": "absent",
    }
    assert plugins_report(tools) == (
        "integration tier plugins: pulumi-language-python real, "
        f"pulumi-resource-command v{command} stand-in, pulumi-resource-tls v{tls} absent")
    reason = real_tls_missing_reason(tools)
    assert reason is not None and reason.startswith("kdsTls.mode generated NOT RUN")


def test_a_real_tls_plugin_of_the_sdks_version_lets_the_generated_mode_run(tmp_path: Path) -> None:
    tools = Tools(tmp_path)
    # Another version is not the one the engine asks for.
    _put(tools.provider_plugin("tls", "0.0.1"), ELF)
    assert real_tls_missing_reason(tools) is not None
    _put(tools.provider_plugin("tls", sdk_plugin_version("pulumi_tls")), ELF)
    assert real_tls_missing_reason(tools) is None


def test_a_file_that_cannot_run_is_absent(tmp_path: Path) -> None:
    tools = Tools(tmp_path)
    host = tools.bin / "pulumi-language-python"
    _put(host, ELF)
    host.chmod(0o644)
    assert tools.plugin_kinds()["pulumi-language-python"] == "absent"
