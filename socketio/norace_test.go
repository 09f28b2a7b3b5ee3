//go:build !race

package socketio

// raceEnabled is set when the tests run with the race detector.
const raceEnabled = false
