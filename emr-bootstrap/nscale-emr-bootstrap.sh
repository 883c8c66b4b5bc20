#!/usr/bin/env bash
# nscale-emr-bootstrap.sh: the EMR bootstrap action that installs the nscale
# agent on a node (master, core and task nodes alike). See docs/install-aws.md.
#
# It downloads the agent binary (and optionally the Arrow Flight SQL JDBC
# driver) with `aws s3 cp`, refuses anything whose SHA-256 differs from the
# one given, runs `nscale-agent bootstrap` (user, directories, agent.yaml,
# systemd unit, enrolment) and waits until the agent's /readyz answers 200.
#
# Privileges: EMR runs bootstrap actions as the hadoop user, which has
# passwordless sudo. Nearly every step needs root (nscale-agent bootstrap
# creates a system user and installs a service), so the script checks its
# arguments as whoever runs it, then re-executes itself once under `sudo -n`
# and does all the work as root.
#
# Output: progress goes to the log file (default /var/log/nscale-bootstrap.log)
# and to stdout (EMR keeps a bootstrap action's stdout in the cluster's log
# URI). A failure prints exactly one line, "nscale-emr-bootstrap: <what
# failed>", on stderr (and in the log) and exits non-zero. The join token is
# never logged and never on a command line: it travels in a 0600 file.
#
# Spark: EMR runs bootstrap actions before it installs Spark, so this script
# does not touch spark-defaults.conf (it passes --spark-defaults ""); the
# spark-defaults classification in configurations.json carries the settings.
set -euo pipefail

readonly PROG=nscale-emr-bootstrap
# Where the JDBC driver is installed (configurations.json names this path).
readonly JAR_PATH=/opt/nscale/lib/flight-sql-jdbc-driver.jar
readonly UNIT=nscale-agent.service

usage() {
	cat <<'EOF'
nscale-emr-bootstrap.sh: install the nscale agent on an EMR node (bootstrap action)

Required:
  --control-plane HOST:PORT         the control plane's agent API (e.g. nscale-cp.internal:7081)
  --control-plane-ca s3://...|FILE  PEM bundle verifying the agent API's certificate
  --release s3://.../nscale-agent   the agent binary
  --sha256 HEX                      its SHA-256 (64 hex digits)

Optional:
  --control-plane-ca-sha256 HEX     the CA bundle's SHA-256: the agent trusts whatever this bundle
                                    says, so pin it as the binary is pinned (recommended)
  --jdbc-jar s3://.../flight-sql-jdbc-driver-*.jar
  --jdbc-jar-sha256 HEX             both or neither; installed as /opt/nscale/lib/flight-sql-jdbc-driver.jar
  --enrolment-method M              aws_iid (default) or join_token
  --join-token-file FILE            the join token, for join_token
  --join-token-ssm PARAMETER_NAME   or an SSM (SecureString) parameter holding it
  --port N                          agent Flight SQL port on 127.0.0.1 (default 7443)
  --ops-port N                      agent /readyz and /metrics port on 127.0.0.1 (default 7444)
  --allowed-users LIST              local users who may call the agent (default spark,yarn,hadoop)
  --ebpf                            also load the eBPF connect guard
  --memory-limit SIZE               the agent's memory limit (default 1GiB)
  --ready-timeout SECONDS           how long to wait for /readyz (default 120)
  --enrol-timeout DURATION          bound on enrolment (nscale-agent bootstrap's default: 2m)
  --root DIR                        install under DIR (tests, image builds; default /): no start, no wait
  --log FILE                        log file (default /var/log/nscale-bootstrap.log, under --root if set)
  --help                            this text

A failure prints one line "nscale-emr-bootstrap: <what failed>" on stderr and exits non-zero.
EOF
}

LOG=""
WORK=""

# log writes a timestamped line to stdout and the log file.
log() {
	local line
	line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $PROG: $*"
	printf '%s\n' "$line"
	if [[ -n $LOG ]]; then
		printf '%s\n' "$line" >>"$LOG"
	fi
}

# die prints the one failure line on stderr (and in the log) and exits 1.
die() {
	if [[ -n $LOG ]]; then
		printf '%s FAILED: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG"
	fi
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

# last_line prints the last non-empty line of a file, squeezed to one line.
last_line() {
	local l="" line
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ -n ${line//[[:space:]]/} ]]; then
			l=$line
		fi
	done <"$1"
	printf '%s' "${l:-no message}"
}

# --- arguments (no side effects until they are all checked) ---------------

ORIG_ARGS=("$@")
CONTROL_PLANE="" CA="" CA_SHA256="" RELEASE="" SHA256="" JAR="" JAR_SHA256=""
METHOD=aws_iid TOKEN_FILE="" TOKEN_SSM="" PORT=7443 OPS_PORT=7444
ALLOWED=spark,yarn,hadoop EBPF=0 MEMORY=1GiB READY_TIMEOUT=120 ENROL_TIMEOUT=""
ROOT=/ LOG_ARG=/var/log/nscale-bootstrap.log

while [[ $# -gt 0 ]]; do
	opt=$1
	val=""
	has_val=0
	if [[ $opt == --*=* ]]; then
		val=${opt#*=}
		opt=${opt%%=*}
		has_val=1
	fi
	case $opt in
	--help | -h)
		usage
		exit 0
		;;
	--ebpf)
		[[ $has_val == 0 ]] || die "--ebpf takes no value"
		EBPF=1
		shift
		continue
		;;
	--control-plane | --control-plane-ca | --control-plane-ca-sha256 | --release | --sha256 | --jdbc-jar | --jdbc-jar-sha256 | \
		--enrolment-method | --join-token-file | --join-token-ssm | --port | --ops-port | --allowed-users | \
		--memory-limit | --ready-timeout | --enrol-timeout | --root | --log)
		if [[ $has_val == 0 ]]; then
			[[ $# -ge 2 ]] || die "$opt needs a value"
			val=$2
			shift
		fi
		shift
		;;
	*)
		die "unknown argument \"$opt\" (see --help)"
		;;
	esac
	case $opt in
	--control-plane) CONTROL_PLANE=$val ;;
	--control-plane-ca) CA=$val ;;
	--control-plane-ca-sha256) CA_SHA256=$val ;;
	--release) RELEASE=$val ;;
	--sha256) SHA256=$val ;;
	--jdbc-jar) JAR=$val ;;
	--jdbc-jar-sha256) JAR_SHA256=$val ;;
	--enrolment-method) METHOD=$val ;;
	--join-token-file) TOKEN_FILE=$val ;;
	--join-token-ssm) TOKEN_SSM=$val ;;
	--port) PORT=$val ;;
	--ops-port) OPS_PORT=$val ;;
	--allowed-users) ALLOWED=$val ;;
	--memory-limit) MEMORY=$val ;;
	--ready-timeout) READY_TIMEOUT=$val ;;
	--enrol-timeout) ENROL_TIMEOUT=$val ;;
	--root) ROOT=$val ;;
	--log) LOG_ARG=$val ;;
	esac
done

# The node's own files are checked only as root: before the re-exec under
# sudo they may not be readable (a root-only join token).
FILE_CHECKS=0
[[ $EUID -ne 0 ]] || FILE_CHECKS=1

# --allowed-users as a list (empty entries dropped, as bootstrap does).
ALLOWED_LIST=()
IFS=, read -r -a allowed_split <<<"$ALLOWED"
for u in ${allowed_split[@]+"${allowed_split[@]}"}; do
	if [[ -n $u ]]; then
		ALLOWED_LIST+=("$u")
	fi
done

is_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
is_sha256() { [[ $1 =~ ^[0-9a-fA-F]{64}$ ]]; }
is_s3_object() { [[ $1 =~ ^s3://[^/]+/.*[^/]$ ]]; }

check_args() {
	[[ -n $CONTROL_PLANE ]] || die "missing --control-plane (the control plane's agent API, HOST:PORT)"
	[[ $CONTROL_PLANE =~ ^[^/:[:space:]]+:[0-9]+$ || $CONTROL_PLANE =~ ^\[[0-9A-Fa-f:.]+\]:[0-9]+$ ]] ||
		die "--control-plane \"$CONTROL_PLANE\" is not HOST:PORT"
	[[ -n $CA ]] || die "missing --control-plane-ca (s3://... or a file: the CA bundle verifying the control plane)"
	if [[ $CA == s3://* ]]; then
		is_s3_object "$CA" || die "--control-plane-ca \"$CA\" is not an S3 object URI s3://BUCKET/KEY"
	elif [[ $FILE_CHECKS == 1 && (! -f $CA || ! -r $CA) ]]; then
		die "--control-plane-ca $CA: no such readable file"
	fi
	if [[ -n $CA_SHA256 ]]; then
		is_sha256 "$CA_SHA256" || die "--control-plane-ca-sha256 \"$CA_SHA256\" is not 64 hex digits"
	fi
	[[ -n $RELEASE ]] || die "missing --release (s3://.../nscale-agent)"
	is_s3_object "$RELEASE" || die "--release \"$RELEASE\" is not an S3 object URI s3://BUCKET/KEY"
	[[ -n $SHA256 ]] || die "missing --sha256 (the SHA-256 of --release)"
	is_sha256 "$SHA256" || die "--sha256 \"$SHA256\" is not 64 hex digits"
	if [[ -n $JAR || -n $JAR_SHA256 ]]; then
		[[ -n $JAR ]] || die "--jdbc-jar-sha256 needs --jdbc-jar (give both or neither)"
		[[ -n $JAR_SHA256 ]] || die "--jdbc-jar needs --jdbc-jar-sha256 (give both or neither)"
		is_s3_object "$JAR" || die "--jdbc-jar \"$JAR\" is not an S3 object URI s3://BUCKET/KEY"
		is_sha256 "$JAR_SHA256" || die "--jdbc-jar-sha256 \"$JAR_SHA256\" is not 64 hex digits"
	fi
	case $METHOD in
	aws_iid)
		[[ -z $TOKEN_FILE && -z $TOKEN_SSM ]] ||
			die "--join-token-file and --join-token-ssm need --enrolment-method join_token"
		;;
	join_token)
		[[ -n $TOKEN_FILE || -n $TOKEN_SSM ]] ||
			die "missing --join-token-file or --join-token-ssm (for --enrolment-method join_token)"
		[[ -z $TOKEN_FILE || -z $TOKEN_SSM ]] || die "give --join-token-file or --join-token-ssm, not both"
		if [[ $FILE_CHECKS == 1 && -n $TOKEN_FILE && (! -f $TOKEN_FILE || ! -r $TOKEN_FILE) ]]; then
			die "--join-token-file $TOKEN_FILE: no such readable file"
		fi
		[[ -z $TOKEN_SSM || $TOKEN_SSM =~ ^[A-Za-z0-9_.:/-]+$ ]] ||
			die "--join-token-ssm \"$TOKEN_SSM\" is not an SSM parameter name or ARN"
		;;
	*) die "--enrolment-method \"$METHOD\": want aws_iid or join_token" ;;
	esac
	is_port "$PORT" || die "--port \"$PORT\" is not a port"
	is_port "$OPS_PORT" || die "--ops-port \"$OPS_PORT\" is not a port"
	((10#$PORT != 10#$OPS_PORT)) || die "--port and --ops-port must differ"
	local u
	for u in ${ALLOWED_LIST[@]+"${ALLOWED_LIST[@]}"}; do
		[[ $u =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "--allowed-users: \"$u\" is not a user name"
	done
	if [[ ! $READY_TIMEOUT =~ ^[0-9]+$ ]] || ((10#$READY_TIMEOUT == 0)); then
		die "--ready-timeout \"$READY_TIMEOUT\" is not a number of seconds"
	fi
	if [[ $EBPF == 1 && $ROOT != / ]]; then
		die "--ebpf loads into the running kernel and cannot be combined with --root"
	fi
	return 0
}

# under ROOT prints a node path as seen from here (ROOT prefixed).
under() {
	if [[ $ROOT == / ]]; then
		printf '%s' "$1"
	else
		printf '%s%s' "${ROOT%/}" "$1"
	fi
}

# --- root -----------------------------------------------------------------

# The log's place is known once --root and --log are.
[[ $ROOT == /* ]] || die "--root \"$ROOT\" is not an absolute path"
[[ $LOG_ARG == /* ]] || die "--log \"$LOG_ARG\" is not an absolute path"

if [[ $EUID -ne 0 ]]; then
	check_args
	command -v sudo >/dev/null || die "must run as root, and sudo is not installed"
	sudo -n true 2>/dev/null || die "must run as root: sudo -n refused (EMR's hadoop user has passwordless sudo)"
	# ${a[@]+"${a[@]}"}: an empty array under set -u on bash 4.2 (Amazon Linux 2).
	exec sudo -n -- "${BASH:-/bin/bash}" "$0" ${ORIG_ARGS[@]+"${ORIG_ARGS[@]}"}
fi

LOG=$(under "$LOG_ARG")
mkdir -p -- "$(dirname -- "$LOG")" 2>/dev/null || { LOG=""; die "cannot create the directory of the log file $LOG"; }
touch -- "$LOG" 2>/dev/null || { LOG=""; die "cannot write the log file $LOG"; }
check_args
for tool in aws sha256sum install; do
	command -v "$tool" >/dev/null || die "$tool is not on PATH ($PATH)"
done

umask 077
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nscale-emr-bootstrap.XXXXXX" 2>/dev/null) || die "cannot make a temporary directory"
# The downloads and the join token go with the directory, whatever happens.
trap 'rm -rf -- "$WORK"' EXIT

log "starting: control plane $CONTROL_PLANE, enrolment $METHOD, root $ROOT, log $LOG"

# --- downloads -------------------------------------------------------------

# fetch downloads an S3 object with aws s3 cp.
fetch() {
	local uri=$1 dest=$2
	log "download $uri"
	if ! aws s3 cp --no-progress "$uri" "$dest" >>"$LOG" 2>"$WORK/aws.err"; then
		cat -- "$WORK/aws.err" >>"$LOG"
		rm -f -- "$dest"
		die "download of $uri failed: $(last_line "$WORK/aws.err")"
	fi
	[[ -f $dest ]] || die "download of $uri failed: aws s3 cp wrote no file"
}

# verify compares a file's SHA-256 with the expected one, as sha256sum -c
# would; on a mismatch the file is deleted.
verify() {
	local file=$1 want=${2,,} flag=$3 uri=$4 got
	got=$(sha256sum -- "$file") || die "sha256sum $file failed"
	got=${got%% *}
	if [[ $got != "$want" ]]; then
		rm -f -- "$file"
		die "$flag does not match $uri (got $got)"
	fi
	log "$uri: SHA-256 $got verified"
}

fetch "$RELEASE" "$WORK/nscale-agent"
verify "$WORK/nscale-agent" "$SHA256" --sha256 "$RELEASE"
chmod 0755 -- "$WORK/nscale-agent"

if [[ -n $JAR ]]; then
	fetch "$JAR" "$WORK/jdbc.jar"
	verify "$WORK/jdbc.jar" "$JAR_SHA256" --jdbc-jar-sha256 "$JAR"
fi

CA_FILE=$CA
if [[ $CA == s3://* ]]; then
	CA_FILE=$WORK/control-plane-ca.crt
	fetch "$CA" "$CA_FILE"
fi
if [[ -n $CA_SHA256 ]]; then
	if [[ $CA_FILE == "$CA" ]]; then
		# A local file is checked as it is, never deleted.
		got=$(sha256sum -- "$CA_FILE") || die "sha256sum $CA_FILE failed"
		[[ ${got%% *} == "${CA_SHA256,,}" ]] || die "--control-plane-ca-sha256 does not match $CA (got ${got%% *})"
		log "$CA: SHA-256 ${got%% *} verified"
	else
		verify "$CA_FILE" "$CA_SHA256" --control-plane-ca-sha256 "$CA"
	fi
fi

# imds_region prints the instance's region (IMDSv2), for the SSM call when
# no region is configured.
imds_region() {
	command -v curl >/dev/null || return 1
	local tok
	tok=$(curl -fsS --max-time 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
		http://169.254.169.254/latest/api/token 2>/dev/null) || return 1
	curl -fsS --max-time 2 -H "X-aws-ec2-metadata-token: $tok" \
		http://169.254.169.254/latest/meta-data/placement/region 2>/dev/null
}

JOIN_TOKEN_FILE=$TOKEN_FILE
if [[ -n $TOKEN_SSM ]]; then
	region=()
	if [[ -z ${AWS_REGION:-} && -z ${AWS_DEFAULT_REGION:-} ]]; then
		if r=$(imds_region) && [[ -n $r ]]; then
			region=(--region "$r")
		fi
	fi
	JOIN_TOKEN_FILE=$WORK/join-token
	log "read the join token from SSM parameter $TOKEN_SSM"
	# The value goes straight into a 0600 file (umask 077): never into the
	# log, a variable on a command line, or the environment.
	if ! aws ssm get-parameter ${region[@]+"${region[@]}"} --name "$TOKEN_SSM" --with-decryption \
		--query Parameter.Value --output text >"$JOIN_TOKEN_FILE" 2>"$WORK/aws.err"; then
		cat -- "$WORK/aws.err" >>"$LOG"
		die "aws ssm get-parameter $TOKEN_SSM failed: $(last_line "$WORK/aws.err")"
	fi
	chmod 0600 -- "$JOIN_TOKEN_FILE"
	tok_head=$(head -c 4 -- "$JOIN_TOKEN_FILE")
	if [[ ! -s $JOIN_TOKEN_FILE || $tok_head == None ]]; then
		die "SSM parameter $TOKEN_SSM is empty"
	fi
fi

# --- install ---------------------------------------------------------------

if [[ -n $JAR ]]; then
	jar_dest=$(under "$JAR_PATH")
	install -d -m 0755 -- "$(dirname -- "$jar_dest")"
	install -m 0644 -- "$WORK/jdbc.jar" "$jar_dest.nscale-new"
	mv -f -- "$jar_dest.nscale-new" "$jar_dest"
	log "installed the JDBC driver as $JAR_PATH"
fi

# On EMR the spark and yarn users appear only when EMR installs the
# applications, after the bootstrap actions: the agent starts without them
# and allows each once it exists (the eBPF guard's map too).
LIVE=0
[[ $ROOT == / && -d /run/systemd/system ]] && LIVE=1

CGROUP=""
if [[ $EBPF == 1 ]]; then
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		if [[ $(stat -fc %T "$d" 2>/dev/null || true) == cgroup2fs ]]; then
			CGROUP=$d
			break
		fi
	done
	[[ -n $CGROUP ]] || die "--ebpf: no cgroup v2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup"
fi

args=(bootstrap --root "$ROOT" --control-plane "$CONTROL_PLANE" --control-plane-ca-file "$CA_FILE"
	--enrolment-method "$METHOD" --allowed-users "$ALLOWED" --port "$PORT" --ops-port "$OPS_PORT"
	--memory-limit "$MEMORY" --jdbc-jar "$JAR_PATH" --spark-defaults "")
if [[ -n $JOIN_TOKEN_FILE ]]; then
	args+=(--join-token-file "$JOIN_TOKEN_FILE")
fi
if [[ -n $ENROL_TIMEOUT ]]; then
	args+=(--enrol-timeout "$ENROL_TIMEOUT")
fi
if [[ $EBPF == 1 ]]; then
	args+=(--ebpf --cgroup "$CGROUP")
fi

printf -v shown '%q ' "${args[@]}"
log "run nscale-agent ${shown% }"
rc=0
{ "$WORK/nscale-agent" "${args[@]}" 2>"$WORK/bootstrap.err" | tee -a "$LOG"; } || rc=$?
cat -- "$WORK/bootstrap.err" >>"$LOG"
if [[ $rc -ne 0 ]]; then
	die "bootstrap failed: $(last_line "$WORK/bootstrap.err")"
fi
log "nscale-agent bootstrap done"

# --- readiness -------------------------------------------------------------

if [[ $ROOT != / ]]; then
	log "readiness wait skipped: --root install"
	exit 0
fi
if [[ $LIVE == 0 ]]; then
	log "readiness wait skipped: systemd is not running here; $UNIT is enabled for the next boot"
	exit 0
fi

# probe prints the HTTP status of the agent's /readyz (000: no answer).
probe() {
	local url="http://127.0.0.1:$OPS_PORT/readyz"
	if command -v curl >/dev/null; then
		curl -s -o "$WORK/readyz" -w '%{http_code}' --max-time 3 "$url" 2>/dev/null || true
		return 0
	fi
	local line=""
	if exec 3<>"/dev/tcp/127.0.0.1/$OPS_PORT" 2>/dev/null; then
		printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
		IFS= read -r -t 3 line <&3 || true
		cat <&3 >"$WORK/readyz" 2>/dev/null || true
		exec 3<&- 3>&-
	fi
	if [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
		printf '%s' "${BASH_REMATCH[1]}"
	else
		printf '000'
	fi
}

log "wait up to ${READY_TIMEOUT}s for http://127.0.0.1:$OPS_PORT/readyz"
deadline=$((SECONDS + 10#$READY_TIMEOUT))
code=000
while :; do
	code=$(probe)
	if [[ $code == 200 ]]; then
		log "agent ready"
		exit 0
	fi
	((SECONDS < deadline)) || break
	sleep 2
done
if [[ -s $WORK/readyz ]]; then
	log "last /readyz answer ($code): $(tr -s '\r\n' ' ' <"$WORK/readyz" | head -c 2000)"
fi
journalctl -u "$UNIT" -n 30 --no-pager >>"$LOG" 2>&1 || true
die "agent not ready after ${READY_TIMEOUT}s (see $LOG_ARG and journalctl -u nscale-agent)"
