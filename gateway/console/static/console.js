// The console's only script (served from 'self', so the CSP needs no 'unsafe-inline').
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target && target.closest && target.closest("[data-print]")) {
    window.print();
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = form.querySelector("button[type=submit]");
  if (button) {
    // one submission per click: a second would only meet the API's version check
    setTimeout(function () { button.disabled = true; }, 0);
  }
});
