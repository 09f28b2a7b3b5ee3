// events.mjs is what the test scripts that speak socket.io-client share: a
// socket records the events it receives, and waitFor takes them one by one.

// record makes socket keep every event it receives in socket.events.
export function record(socket) {
  socket.events = [];
  socket.onAny((event, ...args) => socket.events.push({ event, args }));
  return socket;
}

// waitFor resolves with the arguments of the first recorded event named
// `event` that matches, received already or to come, and removes it from
// socket.events, so that the next call finds the next one. It rejects
// after ms.
export function waitFor(socket, event, match = () => true, ms = 20000) {
  const take = () => {
    const i = socket.events.findIndex((e) => e.event === event && match(...e.args));
    return i < 0 ? undefined : socket.events.splice(i, 1)[0].args;
  };
  return new Promise((resolve, reject) => {
    const hit = take();
    if (hit) return resolve(hit);
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`${event}: none within ${ms} ms; got ${JSON.stringify(socket.events).slice(0, 2000)}`));
    }, ms);
    const poll = setInterval(() => {
      const got = take();
      if (got) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(got);
      }
    }, 5);
  });
}
