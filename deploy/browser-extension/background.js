// teachstream: tells the capture agent which site each browser window's active tab shows.
//
// For every window it can see, it sends the active tab's title (the agent finds the window by
// it), the host and origin of its address (never the path or query), whether the window is
// private, and whether a password field has focus there (password.js says so; it reads no
// content). Reports go to the agent through the native messaging host io.teachstream.agent,
// at once on every change, and every KEEPALIVE_MS while nothing changes: the agent treats a
// browser that stops reporting as one without the extension, and captures none of its windows.
"use strict";

const api = globalThis.browser ?? globalThis.chrome;
const HOST = "io.teachstream.agent";
const KEEPALIVE_MS = 2000;
const RECONNECT_MS = 5000;

let port = null;
let pending = null;
const passwordFrames = new Map(); // tab id -> ids of the frames where a password field has focus

function connect() {
  try {
    port = api.runtime.connectNative(HOST);
  } catch (error) {
    port = null;
    setTimeout(connect, RECONNECT_MS);
    return;
  }
  port.onDisconnect.addListener(() => {
    port = null;
    setTimeout(connect, RECONNECT_MS);
  });
  schedule();
}

function siteOf(address) {
  try {
    const url = new URL(address);
    if (url.protocol === "http:" || url.protocol === "https:") {
      return { host: url.hostname, origin: url.origin };
    }
  } catch (error) {
    // not an address: a page without a host
  }
  return { host: "", origin: "null" };
}

async function report() {
  pending = null;
  if (port === null) {
    return;
  }
  const windows = await api.windows.getAll({ populate: true, windowTypes: ["normal", "popup", "app"] });
  const out = [];
  for (const window of windows) {
    const tab = (window.tabs ?? []).find((t) => t.active);
    if (tab === undefined) {
      continue;
    }
    const site = siteOf(tab.pendingUrl || tab.url || "");
    out.push({
      title: tab.title ?? "",
      host: site.host,
      origin: site.origin,
      private: Boolean(window.incognito),
      password: (passwordFrames.get(tab.id)?.size ?? 0) > 0,
      focused: Boolean(window.focused),
      // the browser's own bars above the page (tabs, address bar, info bars): the agent blacks them out
      // of screenshots, so the address's path and query never leave the device in pixels either
      toolbar: Math.max(0, (window.height ?? 0) - (tab.height ?? 0)),
    });
  }
  try {
    port.postMessage({ type: "tabs", windows: out });
  } catch (error) {
    port = null;
  }
}

function schedule() {
  if (pending === null) {
    pending = setTimeout(report, 20); // a burst of tab events makes one report
  }
}

api.runtime.onMessage.addListener((message, sender) => {
  if (message?.type !== "password" || sender.tab === undefined) {
    return;
  }
  const frames = passwordFrames.get(sender.tab.id) ?? new Set();
  if (message.focused) {
    frames.add(sender.frameId ?? 0);
  } else {
    frames.delete(sender.frameId ?? 0);
  }
  passwordFrames.set(sender.tab.id, frames);
  schedule();
});

api.tabs.onActivated.addListener(schedule);
api.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status === "loading") {
    passwordFrames.delete(tabId); // a new page: its fields report again
  }
  schedule();
});
api.tabs.onRemoved.addListener((tabId) => {
  passwordFrames.delete(tabId);
  schedule();
});
api.windows.onFocusChanged.addListener(schedule);
api.windows.onCreated.addListener(schedule);
api.windows.onRemoved.addListener(schedule);
setInterval(schedule, KEEPALIVE_MS);
connect();
