#!/bin/sh
# alternate.sh ROUNDS CMD_A CMD_B: runs the two commands alternately
# (A, B, A, B, ...) ROUNDS times and prints each run's wall and CPU time,
# then the medians and the ratio of A's median wall time to B's. On a
# machine whose load drifts, alternating exposes both commands to the same
# load, which hyperfine's run-all-of-A-then-all-of-B cannot.
set -eu
rounds=$1
a=$2
b=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$rounds" ]; do
	for which in A B; do
		if [ "$which" = A ]; then cmd=$a; else cmd=$b; fi
		/usr/bin/time -f "%e %U %S" -o "$tmp/t" sh -c "$cmd" >/dev/null 2>&1 || true
		# GNU time puts "Command exited with non-zero status N" first.
		set -- $(tail -n 1 "$tmp/t")
		wall=$1 user=$2 sys=$3
		echo "$which $wall $user $sys" >> "$tmp/all"
		printf '%s round %d: wall %ss user %ss sys %ss\n' "$which" "$((i + 1))" "$wall" "$user" "$sys"
	done
	i=$((i + 1))
done
median() {
	grep "^$1 " "$tmp/all" | awk '{print $'"$2"'}' | sort -n | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'
}
wa=$(median A 2); wb=$(median B 2); ua=$(median A 3); ub=$(median B 3)
echo "A: $a"
echo "B: $b"
echo "median wall: A ${wa}s, B ${wb}s; median user: A ${ua}s, B ${ub}s"
awk -v a="$wa" -v b="$wb" -v ua="$ua" -v ub="$ub" 'BEGIN {
	printf "A/B wall %.3f", a / b
	if (ub > 0) printf ", user %.3f", ua / ub
	printf "\n"
}'
