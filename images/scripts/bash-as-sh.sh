#!/bin/sh
# /bin/sh is bash, as on RHEL (docs/init.md "PID 1 whatever the CMD").
#
# A shell-form CMD (`CMD /usr/libexec/s2i/run`, what `s2i build --as-dockerfile` writes, what
# OpenShift 4, Shipwright and Tekton build) runs as `/bin/sh -c /usr/libexec/s2i/run`. bash
# replaces itself with a lone command (`sh -c CMD` execs CMD), so `run` is PID 1 and gets the
# platform's SIGTERM. Debian's dash forks instead and, as PID 1, ignores SIGTERM: every stop would
# be a SIGKILL after the grace period.
#
# Debian's way to choose /bin/sh: a local diversion, which dash's maintainer scripts leave alone
# (bullseye to forky), so an upgrade or reinstall of dash keeps bash as /bin/sh. Both names are
# diverted: dash ships /bin/sh up to bookworm and /usr/bin/sh from trixie on (merged /usr), and
# up to bookworm dash diverts /bin/sh itself (its debconf choice), which is taken over here.
set -eu
for name in /bin/sh /usr/bin/sh; do
  owner=$(dpkg-divert --listpackage "$name")
  case $owner in
    LOCAL) continue ;;
    '') ;;
    *) dpkg-divert --package "$owner" --no-rename --remove "$name" ;;
  esac
  dpkg-divert --local --no-rename --divert "$name.distrib" --add "$name"
done
# The link is replaced in one rename: /bin/sh never goes missing.
ln -sf bash /usr/bin/sh.new
mv -f /usr/bin/sh.new /usr/bin/sh
# bash execs the lone command of `sh -c` (pid of the shell = pid of the command).
shell_pid=$(/bin/sh -c 'cut -d" " -f4 /proc/self/stat')
[ "$shell_pid" = "$$" ] || { echo "bash-as-sh: /bin/sh -c CMD does not exec CMD (parent $shell_pid, not $$)" >&2; exit 1; }
echo "bash-as-sh: /bin/sh is $(readlink -f /bin/sh), diverted: $(dpkg-divert --list '*bin/sh' | tr '\n' ';')"
