# tools/paper's plot of Table V: the paper's requests/s of WordPress's
# front page beside this machine's medians, and each as a ratio to Root
# untraced (this machine's: measured in the same round), for Root and a
# child world, untraced and traced (gnuplot -e "out='DIR'"; the paper's
# traced rows are Auditd's, beside each of pwapt's backends).
set terminal png size 1100,560 font ",10"
set output out."/table5.png"
set multiplot layout 1,2 title "Table V: WordPress's front page, ab -c 10 (the paper's and this machine's medians)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30 nomirror
set yrange [0:*]
set bmargin 8
set tmargin 4
set grid ytics
set key top center horizontal
set offsets 0, 0, graph 0.18, 0
set title "throughput"
set ylabel "requests per second"
plot out."/table5.dat" using 2:xtic(1) title "the paper (Aufs, Auditd; 2016)", \
     "" using 3 title "pwapt, this machine"
set title "throughput as a ratio to Root untraced (same round)"
set ylabel "ratio of requests per second"
plot out."/table5.dat" using 4:xtic(1) title "the paper (Aufs, Auditd; 2016)", \
     "" using 5 title "pwapt, this machine"
unset multiplot
