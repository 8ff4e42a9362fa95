# SPDX-License-Identifier: Apache-2.0
#
# report.awk: the benchmark's key=value results (tests/bench/run.sh) -> the Markdown table.
# Usage: awk -F= -v cmd="COMMAND" -f report.awk RESULTS
# The verdict column compares with the quality bars (tests/bench/README.md); it never
# changes the exit status.

{ key = $1; sub(/^[^=]*=/, ""); r[key] = $0 }

function v(k) { return (k in r) ? r[k] : "?" }
# n(): the number, or NA (-1e300) when the run did not produce it
function n(k) { return (k in r && r[k] != "") ? r[k] + 0 : -1e300 }
function na(x) { return x <= -1e299 }
function ms(x,    a) {
	if (na(x)) return "?"
	a = x < 0 ? -x : x
	return a < 10 ? sprintf("%.2f", x) : (a < 100 ? sprintf("%.1f", x) : sprintf("%.0f", x))
}
function mb(kb) { return na(kb) ? "?" : sprintf("%.1f", kb / 1024) }
function kib(b) { return na(b) ? "?" : sprintf("%.0f KiB", b / 1024) }
function yes(ok) { return ok ? "met" : "**missed**" }
function sec(x) { return na(x) ? "?" : sprintf("%.2f", x / 1000) }
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "?" }

function ovh_row(op, target,    b50, d50, pr, t) {
	b50 = n("ovh." op ".berth.p50"); d50 = n("ovh." op ".direct.p50"); pr = n("ovh." op ".ratio.p50")
	t = ""
	if (target != "")
		t = target " " yes(!na(pr) && pr <= 1.05)
	printf "| %s | %s / %s | %s / %s | %s | %s | %s | %s |\n", op,
		ms(b50), ms(n("ovh." op ".berth.p95")), ms(d50), ms(n("ovh." op ".direct.p95")),
		ratio(b50, d50), na(pr) ? "?" : sprintf("%.2f", pr), ms(n("ovh." op ".diff.p50")), t
}

function rtt_row(kind, label, target,    x, e, t) {
	x = n("rtt." kind ".p50"); e = n("rtt.echo.p50")
	t = target == "" ? "" : target " " yes(x - e < 1.0)
	printf "| %s | %s | %s | %s | %s | %s |\n", label, ms(x), ms(n("rtt." kind ".p95")),
		ms(n("rtt." kind ".p99")), kind == "echo" ? "(baseline)" : ms(x - e), t
}

function load_row(k, label, target,    p, t, ok) {
	p = "load." k
	t = ""
	if (target != "") {
		ok = n(p ".rate") >= 5000 && n(p ".lat.p99") < 10 && n(p ".lost") == 0 && n(p ".answered") > 0
		t = target " " yes(ok)
	}
	printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
		(n(p ".window") > 0 ? sprintf("window %d x %d", n(p ".window"), n(p ".publishers")) : v(p ".offered") "/s"),
		v(p ".sent"), v(p ".answered"), v(p ".lost") ((n(p ".unexpected") > 0) ? " (" v(p ".unexpected") " other status)" : "") \
			(((p ".broker_dropped_for") in r) ? " (broker queue full for " r[p ".broker_dropped_for"] ")" : ""),
		v(p ".rate"), ms(n(p ".lat.p50")), ms(n(p ".lat.p99")), ms(n(p ".lat.max")), t
}

function fp_row(k, label, target,    t) {
	t = ""
	if (target == "bar")
		t = "< 2 MB dirty " yes(n("fp." k ".dirty_kb") < 2048) ", < 12 MB RSS " yes(n("fp." k ".rss_kb") < 12288)
	printf "| %s | %s | %s | %s | %s | %s | %s |\n", label, mb(n("fp." k ".rss_kb")),
		mb(n("fp." k ".dirty_kb")), mb(n("fp." k ".heap_dirty_kb")), mb(n("fp." k ".pss_kb")),
		v("fp." k ".threads"), t
}

function size_row(k, label) {
	printf "| %s | %s | %s |\n", label, kib(n("size." k ".built")), kib(n("size." k ".stripped"))
}

END {
	printf "# berth benchmarks (%s mode)\n\n", v("mode")
	printf "%s; %s cores, %s, %s MB RAM, kernel %s; Docker %s (API %s spoken, %s, cgroup %s); " \
		"mosquitto %s; libmosquitto %s; libcurl %s; berth %s (%s), CFLAGS `%s`; state_dir on %s. " \
		"Load average before / after: %s / %s. The run took %d s.\n\n",
		v("machine.date"), v("machine.cores"), v("machine.cpu"), v("machine.mem_mb"),
		v("machine.kernel"), v("docker.version"), v("docker.api"), v("docker.storage"),
		v("docker.cgroup"), v("mosquitto.version"), v("libmosquitto.version"),
		v("libcurl.version"), v("berth.version"), v("berth.commit"), v("berth.cflags"),
		v("state_dir.fs"), v("machine.load_before"), v("machine.load_after"), n("duration_s")
	printf "Reproduce: `%s` (as root; starts its own broker, the test dockerd and berthd).\n\n", cmd

	printf "## 1. Overhead: create -> start -> stop -> remove, %s cycles each side, interleaved\n\n", v("ovh.cycles")
	printf "berth: MQTT command to MQTT answer. Direct: the same Engine API request with libcurl on the unix socket.\n\n"
	printf "| operation | berth p50 / p95 (ms) | direct p50 / p95 (ms) | ratio of p50s | berth / direct, median of pairs | berth - direct, median of pairs (ms) | target (on the paired ratio) |\n"
	printf "| --- | --- | --- | --- | --- | --- | --- |\n"
	ovh_row("create", "")
	ovh_row("start", "<= 1.05")
	ovh_row("stop", "<= 1.05")
	ovh_row("remove", "")
	printf "\n"

	printf "Round trips that do not reach Docker (%s of each, interleaved):\n\n", v("rtt.echo.n")
	printf "| command | p50 (ms) | p95 (ms) | p99 (ms) | agent's own time p50 (minus broker) (ms) | target |\n"
	printf "| --- | --- | --- | --- | --- | --- |\n"
	rtt_row("echo", "broker only: publish -> bench_echo -> answer", "")
	rtt_row("notfound", "404 at intake (stop of an unknown container)", "< 1 ms")
	rtt_row("rename", "rename to the same name (queue + worker, 204)", "< 1 ms")
	printf "\n"

	printf "## 2. Throughput: %s publishers, QoS 1, one subscriber on the answers, %s s per run\n\n", v("load.echo.paced.publishers"), v("load.echo.paced.seconds")
	printf "| command | offered | sent | answered | lost | answered/s | p50 (ms) | p99 (ms) | max (ms) | target |\n"
	printf "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
	load_row("echo.paced", "broker only (bench_echo)", "")
	load_row("notfound.paced", "404 at intake", ">= 5000/s, p99 < 10 ms, none lost:")
	load_row("rename.paced", "rename, same name (204)", ">= 5000/s, p99 < 10 ms, none lost:")
	load_row("echo.max", "broker only, saturated", "")
	load_row("notfound.max", "404 at intake, saturated", "")
	load_row("rename.max", "rename, saturated", "")
	printf "\n"

	printf "## 3. Concurrency: %s containers ignoring SIGTERM, stopWithOptions {\"timeout\":%s,\"force\":true} at once\n\n", v("stopall.n"), v("stopall.t")
	printf "| path | first command -> last answer (s) | over T (s) | target |\n"
	printf "| --- | --- | --- | --- |\n"
	printf "| berth | %s | %s | < T + 1 s %s |\n", sec(n("stopall.berth.total_ms")),
		sec(n("stopall.berth.over_t_ms")), yes(!na(n("stopall.berth.over_t_ms")) && n("stopall.berth.over_t_ms") < 1000)
	printf "| direct: %s parallel POST /stop?t=%s | %s | %s | (baseline) |\n", v("stopall.n"), v("stopall.t"),
		sec(n("stopall.direct.total_ms")), sec(n("stopall.direct.total_ms") - n("stopall.t") * 1000)
	printf "\n"

	printf "## 4. Footprint (berthd with the mqtt and docker modules)\n\n"
	printf "| process, moment | RSS (MB) | private dirty (MB) | of which heap (MB) | PSS (MB) | threads | target |\n"
	printf "| --- | --- | --- | --- | --- | --- | --- |\n"
	fp_row("idle", "berthd idle, 2 s after ready", "bar")
	fp_row("after_load", "berthd right after the throughput runs (" sprintf("%d", n("load.notfound.paced.sent") + n("load.rename.paced.sent") + n("load.notfound.max.sent") + n("load.rename.max.sent")) " commands)", "")
	fp_row("after_stop", "berthd right after the concurrency run", "")
	fp_row("after_idle", "berthd after " v("idle_s") " s idle", "bar")
	fp_row("mosquitto", "mosquitto (the bench broker), for scale", "")
	fp_row("dockerd", "dockerd, for scale", "")
	printf "\n"
	printf "| start-up, exec -> READY=1 (broker up), %s runs | p50 %s ms (min %s, max %s) | target < 50 ms %s |\n", v("ready.runs"),
		v("ready.p50"), v("ready.min"), v("ready.max"), yes(!na(n("ready.p50")) && n("ready.p50") < 50)
	printf "| --- | --- | --- |\n\n"
	printf "| file | as built | stripped |\n"
	printf "| --- | --- | --- |\n"
	size_row("berthd", "core/berthd")
	size_row("mqtt_so", "modules/mqtt.so")
	size_row("docker_so", "modules/docker.so")
}
