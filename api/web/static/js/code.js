// The public page of a task code: sends the feedback form as JSON and says, in Chinese and
// English, whether it was received or what to change. No login, no storage in the browser.
const form = document.getElementById("feedback");
const status = document.getElementById("feedback-status");

function say(text, kind) {
  status.textContent = text;
  status.className = kind;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const rating = form.querySelector('input[name="rating"]:checked');
  if (!rating) {
    say("请选择 1–5 的满意度。Please choose a rating from 1 to 5.", "error");
    form.querySelector('input[name="rating"]').focus();
    return;
  }
  const comment = form.comment.value.trim();
  const button = document.getElementById("send");
  button.disabled = true;
  try {
    const response = await fetch(`/api/v1/public/tasks/${encodeURIComponent(form.dataset.code)}/feedback`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ rating: Number(rating.value), comment: comment || null }),
    });
    if (response.ok) {
      say("已收到您的评价，谢谢！Thank you — your feedback was received.", "ok");
      form.querySelectorAll("input, textarea").forEach((el) => { el.disabled = true; });
      return;
    }
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    say(`未能提交：${detail}。Not sent: ${detail}.`, "error");
    button.disabled = false;
  } catch {
    say("无法连接服务器，请稍后再试。Cannot reach the server; please try again later.", "error");
    button.disabled = false;
  }
});
