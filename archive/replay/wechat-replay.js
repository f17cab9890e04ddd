// pywb inject script for WeChat articles: what WeChat's own page scripts (served from
// res.wx.qq.com, never archived) do on the live site, done at replay: show the article
// body, hidden until they run, and load each lazy image from its data-src (wombat turns
// that URL into the replay's).
document.addEventListener("DOMContentLoaded", function () {
  var body = document.getElementById("js_content");
  if (body) {
    body.style.visibility = "visible";
  }
  var images = document.querySelectorAll("img[data-src]");
  for (var i = 0; i < images.length; i++) {
    if (!images[i].getAttribute("src")) {
      images[i].src = images[i].getAttribute("data-src");
    }
  }
});
