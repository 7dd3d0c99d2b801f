// teachstream: says whether a password field has focus in this frame, and nothing else.
// It reads no value, no text and no address: only the type of the element that has focus.
"use strict";

(() => {
  const api = globalThis.browser ?? globalThis.chrome;
  let last = false;

  function tell(focused) {
    if (focused !== last) {
      last = focused;
      try {
        api.runtime.sendMessage({ type: "password", focused })?.catch?.(() => {});
      } catch (error) {
        // the extension was reloaded: nothing to tell
      }
    }
  }

  function check() {
    const element = document.activeElement;
    tell(element instanceof HTMLInputElement && element.type === "password");
  }

  document.addEventListener("focusin", check, true);
  document.addEventListener("focusout", () => setTimeout(check, 0), true);
  window.addEventListener("pagehide", () => tell(false));
})();
