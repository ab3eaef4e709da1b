#!/usr/bin/env bash
# Run phases of a DevStack plugin the way stack.sh, unstack.sh and clean.sh
# do, against the recorded helpers of functions.sh:
#
#   run-phases.sh <plugin dir> "stack pre-install" "stack install" ...
#
# The settings are sourced once, then plugin.sh once per phase, in one
# shell with errexit set (as stack.sh does).
# shellcheck source-path=SCRIPTDIR
set -o errexit

plugin_dir=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=functions.sh
source "$here/functions.sh"
# shellcheck disable=SC1091
source "$plugin_dir/settings"
for phase in "$@"; do
    fake_record phase "$phase"
    # shellcheck disable=SC1091,SC2086  # the phase words are the arguments
    source "$plugin_dir/plugin.sh" $phase
done
