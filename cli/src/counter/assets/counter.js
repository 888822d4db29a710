// zairyu counter page: the page's one script (served by the app; the page's
// Content-Security-Policy forbids inline script). It listens to the reader's state
// over Server-Sent Events and reloads the page when the state changes; it shows the
// progress of a read or a write; it wires the print button. Everything else is
// plain HTML forms, rendered by the server.
(function () {
  'use strict';

  var body = document.body;
  var version = body.getAttribute('data-version');
  var busy = false;

  function show(id) {
    var el = document.getElementById(id);
    if (el) { el.hidden = false; }
  }

  // A form that starts a card operation: show its progress, keep the clerk from
  // sending it twice, and keep the page from reloading under it.
  Array.prototype.forEach.call(document.querySelectorAll('form'), function (form) {
    form.addEventListener('submit', function () {
      busy = true;
      if (form.id === 'read-form') { show('progress'); }
      if (form.getAttribute('data-progress') === 'write') { show('write-progress'); }
      window.setTimeout(function () {
        Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = true; });
      }, 0);
    });
  });

  var print = document.getElementById('print');
  if (print) {
    print.addEventListener('click', function () { window.print(); });
  }

  // The number field takes the focus whenever it is on the page.
  var number = document.getElementById('card-number');
  if (number && !number.disabled) { number.focus(); }

  if (window.EventSource) {
    var events = new EventSource('/events');
    events.onmessage = function (e) {
      var parts = String(e.data).split(' ');
      var live = document.getElementById('live-state');
      if (live && parts[1]) { live.setAttribute('data-state', parts[1]); }
      if (busy) { return; }
      if (parts[0] !== version) {
        events.close();
        window.location.replace('/');
      }
    };
  }
}());
