// kyso: the "Ký số" buttons of a document's page. Signing with the official's own token
// through the signing service on their computer (kyso agent, or the VGCA Sign Service), over
// the VGCA protocol: a one-time ticket from the server, one WebSocket request to the service at
// ws://ADDRESS/<Operation>, which downloads the version, asks the PIN, signs and uploads the
// signed file itself; its answer comes back here. The ticket never goes anywhere but the
// service (never in a URL, never stored).
// Attachments (SignAppendix) use the same buttons with data-attachment (the attachment's id,
// sent with the ticket request) and data-status (the id of their status region); copies
// (SignCopy) with data-copy-form and data-copy-place (the ids of the form and place fields).
(function () {
  'use strict';

  // The page may include this script more than once (the signing steps and the attachments):
  // one set of handlers only.
  if (window.kysoSignLoaded) {
    return;
  }
  window.kysoSignLoaded = true;

  var DEFAULT_AGENT = '127.0.0.1:8987';
  var STORAGE_KEY = 'kyso.agent';
  var lang = document.documentElement.lang === 'en' ? 'en' : 'vi';

  function t(vi, en) {
    return lang === 'en' ? en : vi;
  }

  // 127.0.0.1, localhost or [::1] with a port, optionally ws:// or wss:// (the service's --tls).
  function validAddress(v) {
    return typeof v === 'string' &&
      /^(wss?:\/\/)?(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}$/.test(v.trim());
  }

  function storedAddress() {
    try {
      var v = window.localStorage.getItem(STORAGE_KEY);
      if (validAddress(v)) {
        return v.trim();
      }
    } catch (e) {
      // Storage refused (private mode): the default.
    }
    return DEFAULT_AGENT;
  }

  function socketUrl(address, op) {
    var a = address.trim();
    if (!/^wss?:\/\//.test(a)) {
      a = 'ws://' + a;
    }
    return a + '/' + op;
  }

  function show(region, text, kind) {
    region.textContent = text;
    region.setAttribute('data-kind', kind || 'progress');
    region.style.color = kind === 'error' ? '#cf222e' : (kind === 'ok' ? '#1a7f37' : '');
  }

  function notRunning(address) {
    return t(
      'Không kết nối được dịch vụ ký tại ' + address + '. Hãy mở dịch vụ ký trên máy này rồi bấm "Ký số" lại: ' +
        'chạy "kyso agent --allow-origin ' + location.origin + ' --pkcs11-module …" (hoặc --p12 tệp khóa), hoặc mở VGCA Sign Service của Ban Cơ yếu Chính phủ. ' +
        'Nếu dịch vụ chạy ở cổng khác, sửa "Địa chỉ dịch vụ ký" bên dưới. Dịch vụ cũng từ chối trang này nếu chưa được phép (--allow-origin).',
      'Cannot reach the signing service at ' + address + '. Start it on this computer and click "Sign" again: ' +
        'run "kyso agent --allow-origin ' + location.origin + ' --pkcs11-module …" (or --p12 with a key file), or open the Government Cipher Committee\'s VGCA Sign Service. ' +
        'If it listens on another port, change "Signing service address" below. The service also refuses this page if it is not allowed (--allow-origin).'
    );
  }

  function finish(button) {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }

  function answerText(answer) {
    var message = (answer && typeof answer.Message === 'string') ? answer.Message : '';
    if (/HTTP 401/.test(message)) {
      return t(
        'Máy chủ không nhận phiếu ký (hết hạn hoặc đã dùng). Bấm "Ký số" lại để lấy phiếu mới. Chi tiết: ',
        'The server did not take the signing ticket (expired or used). Click "Sign" again for a new one. Details: '
      ) + message;
    }
    return t('Chưa ký được: ', 'Not signed: ') + (message || t('dịch vụ ký không cho biết lý do.', 'the signing service gave no reason.'));
  }

  // What the ticket request names: the step, the attachment, or for a copy (SignCopy) the
  // form and the place from the fields data-copy-form and data-copy-place name, and the
  // copying agency (data-agency).
  function ticketRequest(button, action, attachment) {
    if (attachment) {
      return { action: action, attachment_id: Number(attachment) };
    }
    var form = document.getElementById(button.getAttribute('data-copy-form') || '');
    if (!form) {
      return { action: action };
    }
    var place = document.getElementById(button.getAttribute('data-copy-place') || '');
    var body = { action: action, form: form.value, place: place ? place.value : '' };
    // A TRÍCH SAO names its pages (data-copy-pages) and, optionally, what it extracts.
    if (form.value === 'trich_sao') {
      var pages = document.getElementById(button.getAttribute('data-copy-pages') || '');
      var note = document.getElementById(button.getAttribute('data-copy-note') || '');
      body.pages = pages ? pages.value : '';
      if (note && note.value) {
        body.note = note.value;
      }
    }
    if (button.getAttribute('data-agency')) {
      body.agency_id = Number(button.getAttribute('data-agency'));
    }
    return body;
  }

  function sign(button) {
    var action = button.getAttribute('data-action');
    var op = button.getAttribute('data-op');
    var attachment = button.getAttribute('data-attachment');
    var region = document.getElementById(button.getAttribute('data-status') || ('sign-status-' + action));
    if (!region) {
      return;
    }
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    show(region, t('Đang lấy phiếu ký từ máy chủ…', 'Getting a signing ticket from the server…'));

    function fail(text) {
      show(region, text, 'error');
      finish(button);
    }

    fetch(button.getAttribute('data-ticket'), {
      method: 'POST',
      credentials: 'same-origin',
      redirect: 'error',
      headers: {
        'content-type': 'application/json',
        'accept': 'application/json',
        'x-csrf-token': button.getAttribute('data-csrf')
      },
      body: JSON.stringify(ticketRequest(button, action, attachment))
    }).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok, body: body };
      }, function () {
        return { ok: false, body: null };
      });
    }).then(function (res) {
      if (!res.ok || !res.body || !res.body.request) {
        var err = res.body && res.body.error;
        fail(err ? (lang === 'en' ? err.message_en : err.message) : t(
          'Không lấy được phiếu ký (phiên đăng nhập có thể đã hết hạn). Hãy tải lại trang.',
          'No signing ticket (the session may have expired). Reload the page.'));
        return;
      }
      connect(res.body);
    }, function () {
      fail(t('Không liên lạc được máy chủ hoặc phiên đăng nhập đã hết hạn. Hãy tải lại trang.',
        'The server cannot be reached or the session has expired. Reload the page.'));
    });

    function connect(ticket) {
      var request = ticket.request;
      request.FileName = new URL(request.FileName, location.href).href;
      request.FileUploadHandler = new URL(request.FileUploadHandler, location.href).href;
      var address = storedAddress();
      var socket;
      try {
        socket = new WebSocket(socketUrl(address, ticket.operation || op));
      } catch (e) {
        fail(notRunning(address));
        return;
      }
      var opened = false;
      var answered = false;
      show(region, t('Đang kết nối dịch vụ ký tại ' + address + '…', 'Connecting to the signing service at ' + address + '…'));
      socket.onopen = function () {
        opened = true;
        socket.send(JSON.stringify(request));
        request.JWTToken = '';
        show(region, t(
          'Đã gửi yêu cầu tới dịch vụ ký. Hãy kiểm tra yêu cầu và nhập mã PIN của token tại dịch vụ ký (cửa sổ kyso agent hoặc hộp thoại VGCA Sign Service); dịch vụ ký sẽ ký và gửi tệp về máy chủ…',
          'The request is with the signing service. Check it and type your token\'s PIN there (the kyso agent window or the VGCA Sign Service dialog); the service signs and sends the file to the server…'));
      };
      socket.onmessage = function (event) {
        answered = true;
        var answer = null;
        try {
          answer = JSON.parse(event.data);
        } catch (e) {
          answer = null;
        }
        try {
          socket.close();
        } catch (e) {
          // already closing
        }
        if (answer && answer.Status === 0) {
          show(region, t('Đã ký số; máy chủ đã kiểm tra và nhận tệp. Đang tải lại trang…',
            'Signed; the server checked and accepted the file. Reloading…'), 'ok');
          location.assign(button.getAttribute('data-done'));
        } else if (answer && answer.Status === 11) {
          fail(t('Bạn đã từ chối ký tại dịch vụ ký (hoặc hết thời gian nhập mã PIN). Văn bản chưa được ký; bấm "Ký số" để thử lại.',
            'You refused at the signing service (or the PIN was not typed in time). Nothing is signed; click "Sign" to try again.'));
        } else {
          fail(answerText(answer));
        }
      };
      socket.onclose = function () {
        if (answered) {
          return;
        }
        if (!opened) {
          fail(notRunning(address));
        } else {
          fail(t('Dịch vụ ký đã đóng kết nối mà không trả lời. Hãy xem cửa sổ dịch vụ ký rồi bấm "Ký số" lại.',
            'The signing service closed the connection without an answer. Look at its window and click "Sign" again.'));
        }
      };
    }
  }

  function setupAddressField() {
    var field = document.getElementById('kyso-agent-address');
    if (!field) {
      return;
    }
    var note = document.getElementById('kyso-agent-address-error');
    field.value = storedAddress();
    field.addEventListener('change', function () {
      var v = field.value.trim();
      if (v === '') {
        v = DEFAULT_AGENT;
        field.value = v;
      }
      if (!validAddress(v)) {
        field.setAttribute('aria-invalid', 'true');
        if (note) {
          note.textContent = t('Địa chỉ phải là 127.0.0.1:CỔNG hoặc localhost:CỔNG (dịch vụ ký chạy trên chính máy này).',
            'The address must be 127.0.0.1:PORT or localhost:PORT (the service runs on this computer).');
        }
        return;
      }
      field.setAttribute('aria-invalid', 'false');
      if (note) {
        note.textContent = '';
      }
      try {
        window.localStorage.setItem(STORAGE_KEY, v);
      } catch (e) {
        // Not kept: used for this page only.
      }
    });
  }

  function init() {
    var buttons = document.querySelectorAll('button.sign-agent');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener('click', function (event) {
        sign(event.currentTarget);
      });
      buttons[i].disabled = false;
    }
    setupAddressField();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
