// The command table's status filter: a button per status shows only its rows.
(function () {
  "use strict";
  var rows = document.querySelectorAll("#commands tbody tr");
  var shown = document.getElementById("shown");
  var buttons = document.querySelectorAll("#filters button");
  function apply(status) {
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var on = status === "all" || rows[i].getAttribute("data-status") === status;
      rows[i].hidden = !on;
      if (on) n++;
    }
    if (shown) shown.textContent = n.toLocaleString("en-US");
    for (var j = 0; j < buttons.length; j++) {
      buttons[j].setAttribute("aria-pressed", String(buttons[j].getAttribute("data-filter") === status));
    }
  }
  for (var k = 0; k < buttons.length; k++) {
    buttons[k].addEventListener("click", function (e) {
      apply(e.currentTarget.getAttribute("data-filter"));
    });
  }
  var wanted = location.hash.slice(1);
  if (["ok", "failed", "unknown", "skipped"].indexOf(wanted) >= 0) apply(wanted);
})();
