# SPDX-License-Identifier: MIT — crmpubsub
# Throughput, server efficiency and p99 latency against subscriber count,
# crmpubsubd beside Redis (medians over the benchmark's rounds).
# usage: gnuplot -e "datafile='plot.dat'; outfile='performance.png'" plot.gp
set terminal pngcairo size 1500,480 font "sans,10"
set output outfile
set datafile missing "?"
set logscale x
set grid
set key top right
set xlabel "subscribers (S)"
set multiplot layout 1,3 title "crmpubsubd vs Redis 7 pub/sub (W=4 writers, C=3 contacts per broadcast)"

set title "Closed loop, window 64: deliveries/s"
set ylabel "deliveries/s"
set format y "%.1s%c"
set yrange [0:*]
plot datafile using 1:2 with linespoints lw 2 pt 7 title "crmpubsubd", \
     datafile using 1:3 with linespoints lw 2 pt 5 title "Redis 7"

set title "Closed loop, window 64: deliveries per server CPU-second"
set ylabel "deliveries / CPU-s"
plot datafile using 1:6 with linespoints lw 2 pt 7 title "crmpubsubd", \
     datafile using 1:7 with linespoints lw 2 pt 5 title "Redis 7"

set title "Open loop, 20000 broadcasts/s: p99 latency"
set ylabel "p99 send-to-receive (ms)"
set logscale y
set format y "%g"
set yrange [*:*]
plot datafile using 1:($4/1000) with linespoints lw 2 pt 7 title "crmpubsubd", \
     datafile using 1:($5/1000) with linespoints lw 2 pt 5 title "Redis 7"

unset multiplot
