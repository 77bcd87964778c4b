# shellcheck shell=bash
# Waits of `make up` (sourced after lib.sh). Every wait ends on success, on failure or at its
# timeout, whichever comes first: a pod that can't start (image missing, crash loop, missing
# Secret key, no room on the node) or a failed Job stops `make up` within a poll or two,
# showing the pod's last log lines, its events and the commands to see more.

# Waiting reasons that never resolve by waiting longer.
FATAL_REASONS=" CrashLoopBackOff ImagePullBackOff ErrImagePull ErrImageNeverPull InvalidImageName CreateContainerConfigError CreateContainerError RunContainerError OOMKilled "
# A pod the scheduler can't place for this long is reported (a moment of Unschedulable is normal).
UNSCHEDULABLE_GRACE="${UNSCHEDULABLE_GRACE:-30}"

# One line per pod of SELECTOR, fields separated by '|' (not a tab: `read` merges runs of
# whitespace separators, losing empty fields): name, phase, deletion time, PodScheduled
# reason, then the waiting/terminated reasons of its init containers and containers.
POD_STATUS_JSONPATH='{range .items[*]}{.metadata.name}{"|"}{.status.phase}{"|"}{.metadata.deletionTimestamp}{"|"}{range .status.conditions[?(@.type=="PodScheduled")]}{.reason}{end}{"|"}{range .status.initContainerStatuses[*]}{.state.waiting.reason}{.state.terminated.reason}{" "}{end}{range .status.containerStatuses[*]}{.state.waiting.reason}{.lastState.terminated.reason}{" "}{end}{"\n"}{end}'

UNSCHEDULABLE_SINCE=""

# pod_problem SELECTOR: print "POD REASON" for the first pod that can't get going; nothing if none.
pod_problem() {
    local selector="$1" name phase deleting scheduled reasons reason
    while IFS='|' read -r name phase deleting scheduled reasons; do
        [ -n "$name" ] || continue
        # A pod being deleted (the previous version during a rollout) doesn't count.
        [ -z "$deleting" ] || continue
        if [ "$phase" = Failed ]; then
            say "$name Failed"
            return 0
        fi
        for reason in $reasons; do
            if [[ "$FATAL_REASONS" == *" $reason "* ]] || { [ "$reason" = Error ] && [ "$phase" != Running ]; }; then
                say "$name $reason"
                return 0
            fi
        done
        if [ "$scheduled" = Unschedulable ]; then
            UNSCHEDULABLE_SINCE="${UNSCHEDULABLE_SINCE:-$SECONDS}"
            if [ $((SECONDS - UNSCHEDULABLE_SINCE)) -ge "$UNSCHEDULABLE_GRACE" ]; then
                say "$name Unschedulable"
                return 0
            fi
        fi
    done < <(kq get pods -l "$selector" -o jsonpath="$POD_STATUS_JSONPATH" 2>/dev/null || true)
}

# show_pod POD: its last log lines (the crashed run's too), its events, and how to see more.
show_pod() {
    local pod="$1"
    warn "---- last $LOG_LINES log lines of pod/$pod:"
    kq logs "pod/$pod" --all-containers --prefix --tail="$LOG_LINES" 2>&1 | sed 's/^/    /' >&2 || true
    if kq logs "pod/$pod" --all-containers --prefix --previous --tail="$LOG_LINES" >/dev/null 2>&1; then
        warn "---- the previous (crashed) run:"
        kq logs "pod/$pod" --all-containers --prefix --previous --tail="$LOG_LINES" 2>&1 | sed 's/^/    /' >&2 || true
    fi
    warn "---- events of pod/$pod:"
    kq get events --field-selector "involvedObject.name=$pod" --sort-by=.lastTimestamp 2>&1 | tail -n 8 | sed 's/^/    /' >&2 || true
    warn "More: $(kc_hint) logs pod/$pod --all-containers"
    warn "      $(kc_hint) describe pod/$pod"
}

# explain REASON: what usually causes it, and the fix.
explain() {
    case "$1" in
        ImagePullBackOff | ErrImagePull | ErrImageNeverPull | InvalidImageName)
            say "the image is not on the kind node (the sandbox's images are loaded, never pulled): run 'make up' again; if it repeats, check 'docker images' and 'kind load docker-image'" ;;
        CreateContainerConfigError)
            say "a Secret or ConfigMap key the pod reads is missing: check sandbox/.env against sandbox/.env.example, then run 'make up' again" ;;
        OOMKilled)
            say "the container ran out of memory: give Docker more memory, or run 'make up LOW_RESOURCES=1'" ;;
        Unschedulable)
            say "the node has no room for the pod (memory or CPU requests): give Docker more memory, or run 'make up LOW_RESOURCES=1'" ;;
        *)
            say "the container exits with an error: its log lines below say why" ;;
    esac
}

# wait_rollout KIND/NAME SELECTOR TIMEOUT: until the Deployment/StatefulSet is rolled out and
# ready; stop at once when one of its pods can't start.
wait_rollout() {
    local target="$1" selector="$2" timeout="$3" t0=$SECONDS last=$SECONDS problem
    if is_dry_run; then
        say "+ wait until $target is ready (rollout status), stopping at a failing pod; timeout ${timeout}s"
        return 0
    fi
    UNSCHEDULABLE_SINCE=""
    while :; do
        if kq rollout status "$target" --timeout=1s >/dev/null 2>&1; then
            say "    $target ready ($(fmt_secs $((SECONDS - t0))))"
            return 0
        fi
        problem="$(pod_problem "$selector")"
        if [ -n "$problem" ]; then
            warn "ERROR: $target: pod ${problem% *} is ${problem##* }: $(explain "${problem##* }")"
            show_pod "${problem% *}"
            return 1
        fi
        if [ $((SECONDS - t0)) -ge "$timeout" ]; then
            warn "ERROR: $target not ready after ${timeout}s"
            kq get pods -l "$selector" 2>&1 | sed 's/^/    /' >&2 || true
            problem="$(kq get pods -l "$selector" -o name 2>/dev/null | head -n 1)"
            if [ -n "$problem" ]; then
                show_pod "${problem#pod/}"
            fi
            return 1
        fi
        if [ $((SECONDS - last)) -ge 30 ]; then
            say "    still waiting for $target ($(fmt_secs $((SECONDS - t0))) of ${timeout}s)"
            last=$SECONDS
        fi
        sleep "$POLL_SECONDS"
    done
}

# job_state NAME: Complete, Failed or Running (Missing when there is no such Job).
job_state() {
    local conditions
    if ! conditions="$(kq get job "$1" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}' 2>/dev/null)"; then
        say Missing
        return 0
    fi
    case " $conditions " in
        *" Failed "* | *" FailureTarget "*) say Failed ;;
        *" Complete "*) say Complete ;;
        *) say Running ;;
    esac
}

# show_job_failure NAME: the Job's failure message, its pods, and their last log lines.
show_job_failure() {
    local name="$1" pod
    warn "---- job/$name: $(kq get job "$name" -o jsonpath='{range .status.conditions[?(@.type=="Failed")]}{.reason}: {.message}{end}' 2>/dev/null || true)"
    pod="$(kq get pods -l "job-name=$name" -o name 2>/dev/null | tail -n 1)"
    if [ -n "$pod" ]; then
        show_pod "${pod#pod/}"
    else
        warn "More: $(kc_hint) describe job/$name"
    fi
}

# wait_job NAME TIMEOUT: until the Job completes; stop at once when it fails or its pod can't start.
wait_job() {
    local name="$1" timeout="$2" t0=$SECONDS last=$SECONDS problem state
    if is_dry_run; then
        say "+ wait until job/$name is Complete, stopping when it fails; timeout ${timeout}s"
        return 0
    fi
    UNSCHEDULABLE_SINCE=""
    while :; do
        state="$(job_state "$name")"
        case "$state" in
            Complete)
                say "    job/$name complete ($(fmt_secs $((SECONDS - t0))))"
                return 0
                ;;
            Failed)
                warn "ERROR: job/$name failed after $(fmt_secs $((SECONDS - t0)))"
                show_job_failure "$name"
                return 1
                ;;
            Missing)
                warn "ERROR: job/$name does not exist (deleted while running?)"
                return 1
                ;;
        esac
        problem="$(pod_problem "job-name=$name")"
        if [ -n "$problem" ]; then
            warn "ERROR: job/$name: pod ${problem% *} is ${problem##* }: $(explain "${problem##* }")"
            show_pod "${problem% *}"
            return 1
        fi
        if [ $((SECONDS - t0)) -ge "$timeout" ]; then
            warn "ERROR: job/$name not complete after ${timeout}s"
            show_job_failure "$name"
            return 1
        fi
        if [ $((SECONDS - last)) -ge 30 ]; then
            say "    still waiting for job/$name ($(fmt_secs $((SECONDS - t0))) of ${timeout}s)"
            last=$SECONDS
        fi
        sleep "$POLL_SECONDS"
    done
}
