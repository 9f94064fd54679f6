#!/usr/bin/env bash
# scripts/cassandra.sh - a real Apache Cassandra 5.0 for tests, from Maven Central jars: 1..9 nodes on
# 127.0.0.(B+1)..(B+N) (same ports, one IP per node), no Docker, no tarball. Needs Java 17 and Maven.
#   fetch | start N | start-node I | stop [I..] | kill I | pause I | resume I | status | nodetool I ARGS.. | clean
# Env: CASSANDRA_VERSION (5.0.9 | latest), CASSANDRA_HEAP (1G), CASSANDRA_NUM_TOKENS (1), CASSANDRA_DCS ("2,1"),
#   CASSANDRA_AUTH (0|1: PasswordAuthenticator, superuser cassandra/cassandra), CASSANDRA_TLS (0|1: client TLS
#   only, keystore made with keytool; the CA certificate is $WORK/tls/ca.pem), CASSANDRA_IP_BASE (0: node I is
#   127.0.0.(BASE+I); give each cluster its own base and CASSANDRA_WORK to run several at once),
#   CASSANDRA_PARTITIONER, CASSANDRA_YAML_EXTRA (yaml lines appended, last key wins), CASSANDRA_JVM_EXTRA,
#   CASSANDRA_RING_DELAY_MS, CASSANDRA_START_TIMEOUT (240), CASSANDRA_JAVA_HOME, CASSANDRA_CACHE, CASSANDRA_WORK,
#   CASSANDRA_FAST_DDL (0|1: skip flushing the schema tables on each DDL, as Cassandra's own tests do; faster DDL,
#   but a node killed with -9 forgets the schema changes since its start, and then skips their tables' mutations)
set -euo pipefail

VERSION="${CASSANDRA_VERSION:-5.0.9}"   # the newest 5.0.x on Maven Central (2026-11); "latest" = newest 5.0.x
CACHE="${CASSANDRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cassandra-harness}"
LIB="$CACHE/cassandra-$VERSION/lib"
HEAP="${CASSANDRA_HEAP:-1G}"
NUM_TOKENS="${CASSANDRA_NUM_TOKENS:-1}"
PARTITIONER="${CASSANDRA_PARTITIONER:-org.apache.cassandra.dht.Murmur3Partitioner}"
AUTH="${CASSANDRA_AUTH:-0}"
TIMEOUT="${CASSANDRA_START_TIMEOUT:-240}"
TLS="${CASSANDRA_TLS:-0}"
IP_BASE="${CASSANDRA_IP_BASE:-0}"
WORK="${CASSANDRA_WORK:-$CACHE/run$([ "$IP_BASE" = 0 ] || echo "-$IP_BASE")}"
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1

# JPMS flags: union of conf/jvm17-server.options on the cassandra-5.0 branch and what bin/cassandra.in.sh adds
# for a JDK; the last three --add-opens are extra safety, not upstream.
JPMS=(
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --add-exports java.base/java.lang.ref=ALL-UNNAMED
  --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports java.sql/java.sql=ALL-UNNAMED --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-opens java.base/java.lang.module=ALL-UNNAMED --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens java.base/jdk.internal.math=ALL-UNNAMED --add-opens java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED
  --add-opens java.base/java.nio.charset=ALL-UNNAMED --add-opens java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED
)

die() { echo "cassandra.sh: $*" >&2; exit 1; }
ip_of() { echo "127.0.0.$((IP_BASE + $1))"; }
dir_of() { echo "$WORK/node$1"; }
jmx_of() { echo $((7000 + (IP_BASE + $1) * 100)); }   # ccm's scheme (7100, 7200, ...): local JMX binds 127.0.0.1 only
pid_of() { cat "$(dir_of "$1")/pid" 2>/dev/null; }
alive() {
  local p; p=$(pid_of "$1") || return 1
  kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]
}
nodes() { local d; for d in "$WORK"/node*; do if [ -d "$d" ]; then echo "${d##*node}"; fi; done | sort -n; }
classpath() { local j cp; cp="$(dir_of "$1")/conf"; for j in "$LIB"/*.jar; do cp+=":$j"; done; echo "$cp"; }

find_java() {
  local c v
  for c in "${CASSANDRA_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64; do
    if [ -z "$c" ] || [ ! -x "$c/bin/java" ]; then continue; fi
    v=$("$c/bin/java" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
    case "$v" in 17|17.*) JAVA="$c/bin/java"; return 0 ;; esac
  done
  die "no JDK 17 found (Cassandra 5.0 cannot install its SecurityManager on JDK 24+); set CASSANDRA_JAVA_HOME"
}

mvn_copy() {   # G:A:V OUTDIR - the artifact plus its runtime (compile+runtime scope) closure, atomically
  local g a v out=$2 tmp; IFS=: read -r g a v <<<"$1"
  tmp=$(mktemp -d); rm -rf "$out.partial"
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.harness</groupId><artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies><dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency></dependencies>
</project>
EOF
  mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" "-Dmaven.repo.local=$CACHE/m2" "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
    -DoutputDirectory="$out.partial"
  mkdir -p "$(dirname "$out")"; mv "$out.partial" "$out"; rm -rf "$tmp"
}

cmd_fetch() {
  if compgen -G "$LIB/cassandra-all-*.jar" >/dev/null; then return 0; fi
  local v=$VERSION; if [ "$v" = latest ]; then v='[5.0.0,5.0.999]'; fi   # Maven range, resolved via Central metadata
  mvn_copy "org.apache.cassandra:cassandra-all:$v" "$LIB"
  compgen -G "$LIB/jamm-*.jar" >/dev/null || die "no jamm jar in $LIB (needed for -javaagent)"
  echo "fetched $(find "$LIB" -name '*.jar' | wc -l) jars into $LIB: $(basename "$(compgen -G "$LIB/cassandra-all-*.jar")")"
}

layout() {   # NODE N -> "dcK TOKEN": ccm-style balanced single tokens per DC (+100 per DC), '-' = let Cassandra pick
  python3 - "$1" "$2" "${CASSANDRA_DCS:-$2}" "$PARTITIONER" <<'PY'
import sys
i, n, spec, part = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
sizes = [int(x) for x in spec.split(',')]
if sum(sizes) != n:
    sys.exit("CASSANDRA_DCS=%s does not add up to %d nodes" % (spec, n))
k = i - 1
for d, size in enumerate(sizes):
    if k < size:
        tok = '-'
        if 'Murmur3' in part: tok = k * (2**64 // size) - 2**63 + 100 * d
        elif 'RandomPartitioner' in part: tok = k * (2**127 // size) + 100 * d
        print('dc%d %s' % (d + 1, tok)); break
    k -= size
PY
}

write_conf() {   # NODE N
  local i=$1 n=$2 d ip out dc tok seeds="" j tokline="" authn=AllowAllAuthenticator authz=AllowAllAuthorizer
  d=$(dir_of "$i"); ip=$(ip_of "$i"); out=$(layout "$i" "$n"); dc=${out% *}; tok=${out#* }
  for j in $(seq 1 "$n"); do seeds+="${seeds:+,}$(ip_of "$j"):7000"; done   # every node a seed, like ccm
  if [ "$NUM_TOKENS" = 1 ] && [ "$tok" != - ]; then tokline="initial_token: '$tok'"; fi
  if [ "$AUTH" = 1 ]; then authn=PasswordAuthenticator; authz=CassandraAuthorizer; fi
  mkdir -p "$d"/{conf,data,commitlog,saved_caches,hints,logs,tmp}; touch "$d/logs/system.log"
  cat >"$d/conf/cassandra.yaml" <<EOF
cluster_name: harness
num_tokens: $NUM_TOKENS
$tokline
partitioner: $PARTITIONER
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$seeds"
listen_address: $ip
rpc_address: $ip
storage_port: 7000
native_transport_port: 9042
start_native_transport: true
endpoint_snitch: GossipingPropertyFileSnitch
data_file_directories: [$d/data]
commitlog_directory: $d/commitlog
saved_caches_directory: $d/saved_caches
hints_directory: $d/hints
commitlog_sync: periodic
commitlog_sync_period: 10000ms
authenticator: $authn
authorizer: $authz
role_manager: CassandraRoleManager
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_materialized_view_writes: 8
concurrent_compactors: 1
compaction_throughput: 0MiB/s
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
file_cache_size: 64MiB
key_cache_size: 16MiB
auto_snapshot: false
internode_compression: none
materialized_views_enabled: true
sasi_indexes_enabled: true
user_defined_functions_enabled: true
drop_compact_storage_enabled: true
dynamic_data_masking_enabled: true
storage_compatibility_mode: NONE
native_transport_allow_older_protocols: true
native_transport_max_frame_size: 16MiB
EOF
  if [ "$TLS" = 1 ]; then
    cat >>"$d/conf/cassandra.yaml" <<EOF
client_encryption_options:
  enabled: true
  optional: false
  keystore: $WORK/tls/keystore.p12
  keystore_password: cassandra
  store_type: PKCS12
  require_client_auth: false
EOF
  fi
  # Duplicate keys are allowed and the last one wins (cassandra.allow_duplicate_config_keys defaults to true).
  if [ -n "${CASSANDRA_YAML_EXTRA:-}" ]; then printf '%s\n' "$CASSANDRA_YAML_EXTRA" >>"$d/conf/cassandra.yaml"; fi
  printf 'dc=%s\nrack=rack1\n' "$dc" >"$d/conf/cassandra-rackdc.properties"
  cat >"$d/conf/logback.xml" <<'EOF'
<configuration>
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.FileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %logger{0} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="SYSTEMLOG"/></root>
</configuration>
EOF
  cat >"$d/conf/logback-tools.xml" <<'EOF'
<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target><encoder><pattern>%-5level %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
EOF
}

jvm_opts() {   # NODE -> OPTS array
  local i=$1 d jamm size extra=(); d=$(dir_of "$i"); jamm=$(compgen -G "$LIB/jamm-*.jar" | head -n 1)
  size=$(cat "$WORK/size" 2>/dev/null || echo 1)
  OPTS=(
    -ea -da:net.openhft... -XX:+UseThreadPriorities -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$d"
    -Xss512k -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
    "-Xms$HEAP" "-Xmx$HEAP" -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    -XX:G1RSetUpdatingPauseTimePercent=5 -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70
    -XX:ParallelGCThreads=2 -XX:ConcGCThreads=1 "-Xlog:gc:file=$d/logs/gc.log"
    -Djava.net.preferIPv4Stack=true -Dchronicle.analytics.disable=true -Djdk.attach.allowAttachSelf=true
    "${JPMS[@]}"
    -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11 "-javaagent:$jamm" "-Djava.io.tmpdir=$d/tmp"
    "-Dcassandra.jmx.local.port=$(jmx_of "$i")" -Dcom.sun.management.jmxremote.authenticate=false
    "-Dcassandra.config=file://$d/conf/cassandra.yaml"
    "-Dcassandra-rackdc.properties=file://$d/conf/cassandra-rackdc.properties"
    "-Dlogback.configurationFile=$d/conf/logback.xml" "-Dcassandra.logdir=$d/logs" "-Dcassandra.storagedir=$d"
    -Dcassandra-foreground=yes "-Dcassandra-pidfile=$d/pid"
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    "-Dcassandra.superuser_setup_delay_ms=${CASSANDRA_SUPERUSER_DELAY_MS:-1000}"
    "-Dcassandra.system_auth.default_rf=$((size < 3 ? size : 3))"
  )
  if [ -n "${CASSANDRA_RING_DELAY_MS:-}" ]; then OPTS+=("-Dcassandra.ring_delay_ms=$CASSANDRA_RING_DELAY_MS"); fi
  if [ "${CASSANDRA_FAST_DDL:-0}" = 1 ]; then OPTS+=("-Dcassandra.test.flush_local_schema_changes=false"); fi
  read -r -a extra <<<"${CASSANDRA_JVM_EXTRA:-}"; OPTS+=("${extra[@]}")
}

wait_port_free() {   # PORT: a JMX registry binds without SO_REUSEADDR, so a just-stopped node's port can still be taken
  local _
  for _ in $(seq 1 120); do
    if [ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]; then return 0; fi
    sleep 0.5
  done
}

start_node() {
  local i=$1 d; d=$(dir_of "$i")
  if alive "$i"; then echo "node$i already running"; return 0; fi
  wait_port_free "$(jmx_of "$i")"
  jvm_opts "$i"
  MALLOC_ARENA_MAX=4 nohup "$JAVA" "${OPTS[@]}" -cp "$(classpath "$i")" org.apache.cassandra.service.CassandraDaemon \
    >>"$d/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$d/pid"
}

mark_logs() { local i d; for i in $(nodes); do d=$(dir_of "$i"); wc -l <"$d/logs/system.log" >"$d/mark"; done; }
log_has() {   # NODE TEXT: TEXT logged by NODE since its mark
  local d; d=$(dir_of "$1")
  awk -v m="$(cat "$d/mark")" -v s="$2" 'NR > m && index($0, s) { f = 1; exit } END { exit !f }' "$d/logs/system.log"
}

wait_ready() {   # STARTED_NODES...: CQL open on each, and each pair of running nodes sees the other UP (as ccm)
  local deadline=$((SECONDS + TIMEOUT)) i j ok running d
  while :; do
    ok=1; running=$(for j in $(nodes); do if alive "$j"; then echo "$j"; fi; done)
    for i in "$@"; do
      d=$(dir_of "$i")
      if ! alive "$i"; then tail -n 40 "$d/logs/system.log" "$d/logs/stdout.log" >&2; die "node$i exited during startup"; fi
      if ! log_has "$i" "Starting listening for CQL clients"; then ok=0; continue; fi
      for j in $running; do
        if [ "$j" = "$i" ]; then continue; fi
        if ! log_has "$i" "$(ip_of "$j"):7000 is now UP" || ! log_has "$j" "$(ip_of "$i"):7000 is now UP"; then ok=0; fi
      done
    done
    if [ "$ok" = 1 ] && [ "$AUTH" = 1 ] && [ "${FRESH:-0}" = 1 ]; then
      ok=0; for j in $running; do if log_has "$j" "Created default superuser role"; then ok=1; fi; done
    fi
    if [ "$ok" = 1 ]; then return 0; fi
    [ "$SECONDS" -lt "$deadline" ] || die "not ready after ${TIMEOUT}s; see $WORK/node*/logs/system.log"
    sleep 1
  done
}

make_tls() {   # N: one self-signed certificate whose SAN lists the nodes' IPs only (so "localhost" does not match)
  local n=$1 i san="" kt; kt="$(dirname "$JAVA")/keytool"; mkdir -p "$WORK/tls"
  for i in $(seq 1 "$n"); do san+="${san:+,}ip:$(ip_of "$i")"; done
  local out
  out=$("$kt" -genkeypair -keystore "$WORK/tls/keystore.p12" -storetype PKCS12 -storepass cassandra -keypass cassandra \
    -alias node -keyalg RSA -keysize 2048 -validity 30 -dname "CN=cassandra-harness" -ext "san=$san" 2>&1) ||
    die "keytool -genkeypair failed: $out"
  out=$("$kt" -exportcert -rfc -keystore "$WORK/tls/keystore.p12" -storepass cassandra -alias node \
    -file "$WORK/tls/ca.pem" 2>&1) || die "keytool -exportcert failed: $out"
}

cmd_start() {
  local n=${1:?usage: start N} i
  [[ "$n" =~ ^[1-9]$ ]] || die "N must be 1..9"
  find_java; cmd_fetch; cmd_stop >/dev/null 2>&1 || true
  rm -rf "$WORK"; mkdir -p "$WORK"; echo "$n" >"$WORK/size"
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$TLS" = 1 ]; then make_tls "$n"; fi
  for i in $(seq 1 "$n"); do write_conf "$i" "$n"; done
  mark_logs; FRESH=1
  trap 'cmd_stop >/dev/null 2>&1' EXIT                 # a failed start leaves no JVMs behind
  for i in $(seq 1 "$n"); do start_node "$i"; done   # all at once: every node is a seed, tokens are preset
  wait_ready $(seq 1 "$n"); trap - EXIT
  echo "ready in ${SECONDS}s: $(for i in $(seq 1 "$n"); do printf '%s ' "$(ip_of "$i")"; done)port 9042 (auth=$AUTH tls=$TLS)"
}

cmd_start_node() {
  local i=${1:?usage: start-node I}
  [ -d "$(dir_of "$i")" ] || die "node$i was never created (use start N)"
  find_java; ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  mark_logs
  # shellcheck disable=SC2064
  trap "cmd_stop $i >/dev/null 2>&1" EXIT
  start_node "$i"; wait_ready "$i"; trap - EXIT; echo "node$i ready"
}

cmd_stop() {   # graceful: SIGTERM runs Cassandra's drain-on-shutdown hook; SIGKILL after 60 s
  local i list; if [ $# -gt 0 ]; then list="$*"; else list=$(nodes); fi
  for i in $list; do if alive "$i"; then kill -TERM "$(pid_of "$i")"; fi; done
  for i in $list; do
    for _ in $(seq 1 60); do if ! alive "$i"; then break; fi; sleep 1; done
    if alive "$i"; then echo "node$i still up after 60s, SIGKILL" >&2; kill -KILL "$(pid_of "$i")"; fi
  done
}

cmd_kill() {   # crash: SIGKILL, no drain (commitlog replay on next start)
  local i=${1:?usage: kill I}
  if alive "$i"; then kill -KILL "$(pid_of "$i")"; fi
  while alive "$i"; do sleep 0.2; done
}

cmd_status() {
  local i s
  for i in $(nodes); do
    if ! alive "$i"; then s=DOWN
    elif [ "$(ps -o stat= -p "$(pid_of "$i")" 2>/dev/null | cut -c1)" = T ]; then s=PAUSED
    elif (exec 3<>"/dev/tcp/$(ip_of "$i")/9042") 2>/dev/null; then s="UP (cql open)"
    else s="STARTING (cql closed)"; fi
    printf 'node%s %-10s pid=%-8s jmx=%s %s\n' "$i" "$(ip_of "$i")" "$(pid_of "$i" || echo -)" "$(jmx_of "$i")" "$s"
  done
}

# The same NodeTool class bin/nodetool runs, from the same jars. Its stdout is data (getendpoints, describering):
# the JVM's own warnings go to stderr, and it keeps no perf-data file (/tmp/hsperfdata_root/PID): in one CI run
# that file was locked, and the JVM's warning about it landed among getendpoints' addresses.
cmd_nodetool() {
  local i=${1:?usage: nodetool I ARGS..} d; shift; find_java; d=$(dir_of "$i")
  exec "$JAVA" -Xmx128m -XX:ParallelGCThreads=1 -XX:-UsePerfData -Xlog:disable -Xlog:all=warning:stderr \
    -Djdk.attach.allowAttachSelf=true "${JPMS[@]}" \
    "-Dlogback.configurationFile=$d/conf/logback-tools.xml" "-Dcassandra.storagedir=$d" "-Dcassandra.logdir=$d/logs" \
    -cp "$(classpath "$i")" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$(jmx_of "$i")" "$@"
}

cmd=${1:-help}; shift || true
case "$cmd" in
  fetch) cmd_fetch ;;
  start) cmd_start "$@" ;;
  start-node) cmd_start_node "$@" ;;
  stop) cmd_stop "$@" ;;
  kill) cmd_kill "$@" ;;
  pause) kill -STOP "$(pid_of "${1:?usage: pause I}")" ;;    # node stops answering, sockets stay open
  resume) kill -CONT "$(pid_of "${1:?usage: resume I}")" ;;
  status) cmd_status ;;
  nodetool) cmd_nodetool "$@" ;;
  clean) cmd_stop || true; rm -rf "$WORK" ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
