// Parley chat page: a framework-free client for the socket.io "private-messaging" protocol
// (see the spec in the repository's shared docs). It behaves like the reference Vue client,
// plus message acknowledgements and a visible connection status.
//
// SECURITY: usernames, message contents and server error texts are untrusted input. They reach
// the DOM only as text: through textContent, document.createTextNode and data-* attributes, never
// through innerHTML or any other API that parses HTML. Keep it that way; web/appjs_test.go fails if
// innerHTML (or a relative) is ever assigned here.

import { io } from "./vendor/socket.io-client/socket.io.esm.min.js";

/** localStorage key of the session token, as in the reference client. */
const SESSION_KEY = "sessionID";

/** Longest username the server accepts, counted in characters (code points). */
const MAX_USERNAME_LENGTH = 32;

// Same origin, default path (/socket.io/) and default transports (long-polling first, then the
// WebSocket upgrade); not connected until we know which credentials to send.
const socket = io({ autoConnect: false });

const ui = {
  status: byId("connection-status"),
  login: byId("login"),
  loginForm: byId("login-form"),
  usernameInput: byId("username-input"),
  loginButton: byId("login-button"),
  loginError: byId("login-error"),
  chat: byId("chat"),
  userList: byId("user-list"),
  header: byId("conversation-header"),
  headerStatus: byId("conversation-status"),
  headerTitle: byId("conversation-title"),
  placeholder: byId("placeholder"),
  messages: byId("messages"),
  messageForm: byId("message-form"),
  messageInput: byId("message-input"),
  sendButton: byId("send-button"),
};

/**
 * Everything the page shows.
 * users: userID -> {userID, username, connected, messages, self, hasNewMessages}
 * messages: {content, from, to, fromSelf, status: "pending"|"sent"|"failed", error}
 */
const state = {
  myID: null,
  users: new Map(),
  selectedID: null,
};

function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`parley: #${id} is missing from index.html`);
  return node;
}

// ---------------------------------------------------------------------------------------------
// Session storage. localStorage can throw (disabled storage, some private modes); the chat still
// works then, only without restoring the session on reload.

function loadSessionID() {
  try {
    return localStorage.getItem(SESSION_KEY);
  } catch {
    return null;
  }
}

function saveSessionID(sessionID) {
  try {
    localStorage.setItem(SESSION_KEY, sessionID);
  } catch {
    /* not persisted: see above */
  }
}

function forgetSessionID() {
  try {
    localStorage.removeItem(SESSION_KEY);
  } catch {
    /* nothing stored */
  }
}

// ---------------------------------------------------------------------------------------------
// Views and status line.

function showLogin(errorText) {
  ui.chat.hidden = true;
  ui.login.hidden = false;
  ui.loginError.textContent = errorText;
  ui.loginError.hidden = errorText === "";
  updateLoginButton();
  ui.usernameInput.focus();
}

function showChat() {
  ui.login.hidden = true;
  ui.chat.hidden = false;
  render();
}

/** setStatus shows the connection state; kind is also exposed as data-state for tests. */
function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

/** usernameLength counts characters as the server does (code points, not UTF-16 units). */
function usernameLength(name) {
  return [...name].length;
}

function validUsername(name) {
  const n = usernameLength(name);
  return n >= 1 && n <= MAX_USERNAME_LENGTH;
}

function updateLoginButton() {
  ui.loginButton.disabled = !validUsername(ui.usernameInput.value.trim());
}

/** resetChat forgets everything learnt under the previous identity before a new login. */
function resetChat() {
  state.myID = null;
  state.users.clear();
  state.selectedID = null;
  ui.messageInput.value = "";
}

// ---------------------------------------------------------------------------------------------
// Model updates (one per server event). Payloads are checked loosely: a malformed entry is
// skipped rather than allowed to break the page.

function toMessage(raw) {
  const from = String(raw.from);
  return {
    content: String(raw.content),
    from,
    to: String(raw.to),
    fromSelf: from === state.myID,
    status: "sent",
    error: "",
  };
}

function toMessages(list) {
  return Array.isArray(list) ? list.filter(isObject).map(toMessage) : [];
}

function isObject(value) {
  return typeof value === "object" && value !== null;
}

/** mergeUsers applies a `users` list: existing rows get connected+messages, new ones are added. */
function mergeUsers(list) {
  if (!Array.isArray(list)) return;
  for (const entry of list) {
    if (!isObject(entry) || typeof entry.userID !== "string") continue;
    const existing = state.users.get(entry.userID);
    if (existing) {
      existing.connected = Boolean(entry.connected);
      existing.messages = toMessages(entry.messages);
    } else {
      addUser(entry);
    }
  }
}

function addUser(entry) {
  state.users.set(entry.userID, {
    userID: entry.userID,
    username: String(entry.username ?? ""),
    connected: Boolean(entry.connected),
    messages: toMessages(entry.messages),
    self: entry.userID === state.myID,
    hasNewMessages: false,
  });
}

function userConnected(entry) {
  if (!isObject(entry) || typeof entry.userID !== "string") return;
  const existing = state.users.get(entry.userID);
  if (existing) {
    existing.connected = true;
  } else {
    addUser({ ...entry, connected: true });
  }
}

function userDisconnected(userID) {
  const user = state.users.get(userID);
  if (user) user.connected = false;
}

/** receiveMessage files a message under its conversation; from me means sent from my other tab. */
function receiveMessage(raw) {
  if (!isObject(raw)) return;
  const message = toMessage(raw);
  const peerID = message.fromSelf ? message.to : message.from;
  const user = state.users.get(peerID);
  if (!user) return;
  user.messages.push(message);
  if (peerID !== state.selectedID) user.hasNewMessages = true;
}

function setSelfConnected(connected) {
  const me = state.myID === null ? undefined : state.users.get(state.myID);
  if (me) me.connected = connected;
}

/** Self first, then by username (plain string order, as the reference), then by userID. */
function sortedUsers() {
  return [...state.users.values()].sort((a, b) => {
    if (a.self !== b.self) return a.self ? -1 : 1;
    if (a.username !== b.username) return a.username < b.username ? -1 : 1;
    return a.userID < b.userID ? -1 : a.userID > b.userID ? 1 : 0;
  });
}

function displayName(user) {
  return user.self ? `${user.username} (yourself)` : user.username;
}

// ---------------------------------------------------------------------------------------------
// Rendering. The whole list and the open conversation are rebuilt on every change: the data is
// small and it keeps the code obvious. The textarea is never rebuilt, so typing is not disturbed.

/** el builds an element; string children become text nodes, so they are never parsed as HTML. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { className, dataset, ...attributes } = props;
  if (className) node.className = className;
  if (dataset) Object.assign(node.dataset, dataset);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function statusNode(tag, connected) {
  return el(tag, { className: "status", dataset: { online: String(connected) } },
    connected ? "online" : "offline");
}

function render() {
  renderUsers();
  renderConversation();
}

function renderUsers() {
  const focusedID = document.activeElement?.closest?.(".user")?.dataset.userId;
  const rows = sortedUsers().map((user) => {
    const button = el("button", {
      type: "button",
      className: "user",
      "aria-current": String(user.userID === state.selectedID),
      dataset: {
        testid: "user-row",
        userId: user.userID,
        username: user.username,
        online: String(user.connected),
      },
    },
    el("span", { className: "user-text" },
      el("span", { className: "user-name" }, displayName(user)),
      statusNode("span", user.connected)),
    user.hasNewMessages &&
      el("span", { className: "badge", title: "new messages", dataset: { testid: "unread-badge" } }, "!"));
    button.addEventListener("click", () => selectUser(user.userID));
    return el("li", {}, button);
  });
  ui.userList.replaceChildren(...rows);
  // Rebuilding the list must not steal keyboard focus from the row the user was on.
  if (focusedID !== undefined) {
    for (const row of ui.userList.querySelectorAll(".user")) {
      if (row.dataset.userId === focusedID) row.focus();
    }
  }
}

function renderConversation() {
  const user = state.selectedID === null ? undefined : state.users.get(state.selectedID);
  ui.placeholder.hidden = Boolean(user);
  ui.header.hidden = !user;
  ui.messageForm.hidden = !user;
  if (!user) {
    ui.messages.replaceChildren();
    return;
  }
  ui.headerStatus.dataset.online = String(user.connected);
  ui.headerStatus.textContent = user.connected ? "online" : "offline";
  ui.headerTitle.textContent = displayName(user);

  const list = ui.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...user.messages.map((message, i) => {
    // The sender line appears only when the sender changes, like the reference client.
    const senderChanged = i === 0 || user.messages[i - 1].fromSelf !== message.fromSelf;
    return el("li", {
      className: "message",
      dataset: { testid: "message", fromSelf: String(message.fromSelf), status: message.status },
    },
    senderChanged && el("div", { className: "message-sender" },
      message.fromSelf ? "(yourself)" : user.username),
    el("div", { className: "message-content" }, message.content),
    message.status === "failed" &&
      el("div", { className: "message-failure", role: "alert" }, `not delivered: ${message.error}`));
  }));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function selectUser(userID) {
  const user = state.users.get(userID);
  if (!user) return;
  state.selectedID = userID;
  user.hasNewMessages = false;
  render();
  ui.messages.scrollTop = ui.messages.scrollHeight;
  updateSendButton();
  ui.messageInput.focus();
}

// ---------------------------------------------------------------------------------------------
// Sending.

function updateSendButton() {
  ui.sendButton.disabled = state.selectedID === null || ui.messageInput.value.trim() === "";
}

function sendMessage() {
  const user = state.selectedID === null ? undefined : state.users.get(state.selectedID);
  const content = ui.messageInput.value;
  if (!user || content.trim() === "") return;

  // Shown at once as mine; the server does not echo it back to this socket.
  const message = {
    content, from: state.myID, to: user.userID, fromSelf: true, status: "pending", error: "",
  };
  user.messages.push(message);
  socket.emit("private message", { content, to: user.userID }, (reply) => {
    if (isObject(reply) && reply.error !== undefined) {
      message.status = "failed";
      message.error = String(reply.error);
    } else {
      message.status = "sent";
    }
    renderConversation();
  });

  ui.messageInput.value = "";
  updateSendButton();
  renderConversation();
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Socket events.

// Every event is logged, as the reference client does: handy when debugging a server.
socket.onAny((event, ...args) => console.log(event, args));

socket.on("session", (payload) => {
  if (!isObject(payload) || typeof payload.sessionID !== "string") return;
  // Every automatic reconnection now re-authenticates with the session, not the username.
  socket.auth = { sessionID: payload.sessionID };
  saveSessionID(payload.sessionID);
  const userID = String(payload.userID);
  if (state.myID !== null && state.myID !== userID) resetChat();
  state.myID = userID;
});

socket.on("users", (list) => {
  mergeUsers(list);
  render();
});

socket.on("user connected", (entry) => {
  userConnected(entry);
  render();
});

socket.on("user disconnected", (userID) => {
  userDisconnected(String(userID));
  render();
});

socket.on("private message", (raw) => {
  receiveMessage(raw);
  render();
});

socket.on("connect", () => {
  setStatus("connected", "connected");
  setSelfConnected(true);
  render();
});

socket.on("disconnect", (reason) => {
  setSelfConnected(false);
  render();
  // After these two the client does not reconnect by itself.
  if (reason === "io server disconnect" || reason === "io client disconnect") {
    setStatus("disconnected", "disconnected");
  } else {
    setStatus("reconnecting", "reconnecting…");
  }
});

socket.io.on("reconnect_attempt", (attempt) => {
  setStatus("reconnecting", `reconnecting… (attempt ${attempt})`);
});

socket.on("connect_error", (err) => {
  if (err.message === "invalid username") {
    // Either the name was refused or the server no longer knows our session: in both cases the
    // stored session is useless, and the client will not retry on its own.
    const hadSession = isObject(socket.auth) && "sessionID" in socket.auth;
    forgetSessionID();
    resetChat();
    setStatus("disconnected", "not signed in");
    showLogin(hadSession
      ? `Your session has expired (server said: ${err.message}). Please choose a username again.`
      : `The server refused this username (server said: ${err.message}).`);
    return;
  }
  // socket.active tells a transient failure (the manager retries) from a refusal (it does not).
  if (socket.active) {
    setStatus("reconnecting", `reconnecting… (${err.message})`);
  } else {
    setStatus("disconnected", `connection refused: ${err.message}`);
  }
});

// ---------------------------------------------------------------------------------------------
// DOM events and start-up.

ui.usernameInput.addEventListener("input", updateLoginButton);

ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const username = ui.usernameInput.value.trim();
  if (!validUsername(username)) return;
  resetChat();
  socket.auth = { username };
  setStatus("connecting", "connecting…");
  showChat();
  socket.connect();
});

ui.messageInput.addEventListener("input", updateSendButton);

ui.messageInput.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter inserts a newline; never send while an IME is composing.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});

ui.messageForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sendMessage();
});

function start() {
  const sessionID = loadSessionID();
  if (sessionID) {
    socket.auth = { sessionID };
    setStatus("connecting", "connecting…");
    showChat();
    socket.connect();
  } else {
    showLogin("");
  }
}

start();
