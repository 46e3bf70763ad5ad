#!/bin/sh
# Runs `python -m <module> [args]` of this project: what pulumi-command runs for the federation
# check and the zone token issuer (`sh components/run_module.sh components.check`).
#
# Nothing of this machine may sit in those commands' inputs: pulumi-command re-runs `create` when
# an input changes, and a re-issued zone token restarts every zone control plane. So the command
# names no interpreter and no directory; this script finds both when it runs:
# - the directory: pulumi-command v1.2.1 runs a command without `dir` in its provider's working
#   directory (provider/pkg/provider/local/commandOutputs.go: cmd.Dir = os.Getwd()), and the
#   engine starts providers in the project root, the directory of Pulumi.yaml
#   (pkg/engine: ProjectInfo.GetPwdMain). `python -m` puts that directory on sys.path.
# - the interpreter, the first that exists of: $MESH_FEDERATION_PYTHON (set it where neither of
#   the next two is the project's), .venv/bin/python (Pulumi.yaml's `virtualenv: .venv`, the
#   interpreter the Pulumi language host runs the program with), $VIRTUAL_ENV/bin/python (an
#   activated virtualenv: the provider inherits the engine's environment, not the program's),
#   and python3 from PATH as a last resort.
set -eu
if [ "$#" -lt 1 ]; then
    echo "usage: sh components/run_module.sh <module> [args...]" >&2
    exit 2
fi
module="$1"
shift
for python in "${MESH_FEDERATION_PYTHON:-}" .venv/bin/python "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}"; do
    if [ -n "$python" ] && [ -x "$python" ]; then
        exec "$python" -m "$module" "$@"
    fi
done
if command -v python3 >/dev/null 2>&1; then
    exec python3 -m "$module" "$@"
fi
echo "mesh-federation: no Python interpreter for $module: none of \$MESH_FEDERATION_PYTHON," \
     ".venv/bin/python (run 'pulumi install' in $(pwd)), \$VIRTUAL_ENV/bin/python, python3" >&2
exit 127
