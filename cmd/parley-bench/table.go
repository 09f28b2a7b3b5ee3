package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// printTable prints each metric's median per system with the runs, and the
// ratio of the first system to the second.
func printTable(w io.Writer, o *options, r *results) {
	fmt.Fprintf(w, "\nparley-bench: medians of %d runs; load average (1 min) at run starts: %s\n\n", o.reps, strings.Join(r.loads, " "))
	fmt.Fprintf(w, "| metric |")
	for _, s := range o.systems {
		fmt.Fprintf(w, " %s (runs) |", s)
	}
	if len(o.systems) >= 2 {
		fmt.Fprintf(w, " %s/%s |", o.systems[0], o.systems[1])
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|")
	for range o.systems {
		fmt.Fprint(w, "---|")
	}
	if len(o.systems) >= 2 {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, name := range r.order {
		fmt.Fprintf(w, "| %s |", name)
		for _, s := range o.systems {
			v := r.values[name][s]
			runs := make([]string, len(v))
			for i, x := range v {
				runs[i] = fmt.Sprintf("%.4g", x)
			}
			fmt.Fprintf(w, " **%.4g** (%s) |", median(v), strings.Join(runs, ", "))
		}
		if len(o.systems) >= 2 {
			a, b := median(r.values[name][o.systems[0]]), median(r.values[name][o.systems[1]])
			if b != 0 {
				fmt.Fprintf(w, " %.2f |", a/b)
			} else {
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}
	if len(r.notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range r.notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}
