# tools/paper's plot of Table III: the paper's times beside this machine's
# medians, one pair of bars per world command (gnuplot -e "out='DIR'").
set terminal png size 1000,560 font ",10"
set output out."/table3.png"
set title "Table III: execution times of world operations (the paper's and this machine's medians)"
set ylabel "seconds"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -25 nomirror
set yrange [0:*]
set bmargin 11
set grid ytics
set key top left
plot out."/table3.dat" using 2:xtic(1) title "the paper (LXC + Aufs, 2016)", \
     "" using 3 title "pwapt, this machine (median)"
