// herald serve's proof of work: finds a number whose SHA-256 together with
// the form's challenge starts with enough zero bits, then lets the form go.
(function () {
  "use strict";
  function zeroBits(bytes, bits) {
    for (var i = 0; i < bits; i++) {
      if (bytes[i >> 3] & (0x80 >> (i & 7))) return false;
    }
    return true;
  }
  async function solve(challenge, bits) {
    var encoder = new TextEncoder();
    for (var n = 0; ; n++) {
      var data = encoder.encode(challenge + ":" + n);
      var digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
      if (zeroBits(digest, bits)) return String(n);
    }
  }
  document.querySelectorAll("form").forEach(function (form) {
    var work = form.querySelector("input[name=work]");
    var proof = form.querySelector("input[name=proof]");
    var button = form.querySelector("button[type=submit]");
    if (!work || !proof || !button) return;
    if (!window.crypto || !crypto.subtle) {
      button.insertAdjacentText("afterend", " (this page must be opened over https to subscribe)");
      return;
    }
    var label = button.textContent;
    var bits = parseInt(work.value.split(".")[0], 10);
    var found = solve(work.value, bits).then(function (value) { proof.value = value; });
    form.addEventListener("submit", function (event) {
      if (proof.value) return;
      event.preventDefault();
      button.disabled = true;
      button.textContent = "One moment…";
      found.then(function () {
        button.disabled = false;
        button.textContent = label;
        form.submit();
      });
    });
  });
})();
