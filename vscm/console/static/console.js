// The console's small JS layer: Sign-In with Ethereum through the page's EIP-1193 wallet
// (window.ethereum) or a keystore decrypted in the page (ethers), and the charts (Apache ECharts, served from npm's copy under /static/vendor).
"use strict";

function siweText(f, address) {
  // EIP-4361, field by field (the server parses exactly this layout).
  return `${f.domain} wants you to sign in with your Ethereum account:\n${address}\n\n${f.statement}\n\n` +
    `URI: ${f.uri}\nVersion: 1\nChain ID: ${f.chain_id}\nNonce: ${f.nonce}\nIssued At: ${f.issued_at}`;
}

// The keystore a party signed in with (its encrypted JSON only, never the key or the passphrase), kept for
// this tab's session so that a decision can decrypt it again with the passphrase.
const KEYSTORE = "vscm-keystore";

async function signIn(button) {
  const status = document.getElementById("login-status");
  if (!window.ethereum) {
    status.textContent = "No wallet in this browser (an EIP-1193 provider such as a browser wallet is needed): " +
      "sign in with your keystore file instead.";
    return;
  }
  try {
    const [account] = await window.ethereum.request({ method: "eth_requestAccounts" });
    const address = await checksum(account);
    sessionStorage.removeItem(KEYSTORE);
    await siwe(button, address,
      (message) => window.ethereum.request({ method: "personal_sign", params: [toHex(message), account] }));
  } catch (err) {
    status.textContent = `Sign-in failed: ${err.message || err}`;
  }
}

async function signInWithKeystore(form) {
  // Web3 Secret Storage decrypted by ethers in this page; the console sees only the signed message.
  const status = document.getElementById("login-status");
  const file = document.getElementById("keystore-file").files[0];
  const passphrase = document.getElementById("keystore-pass").value;
  if (!file) { status.textContent = "Choose your keystore file first."; return; }
  try {
    status.textContent = "Decrypting the keystore in this page…";
    const json = await file.text();
    const wallet = await window.ethers.Wallet.fromEncryptedJson(json, passphrase);
    sessionStorage.setItem(KEYSTORE, json);
    await siwe(form, wallet.address, (message) => wallet.signMessage(message));
  } catch (err) {
    status.textContent = `Sign-in failed: ${err.message || err}`;
  }
}

async function siwe(element, address, sign) {
  const status = document.getElementById("login-status");
  const fields = await (await fetch("/auth/nonce", { credentials: "same-origin" })).json();
  const message = siweText(fields, address);
  const signature = await sign(message);
  const answer = await fetch("/auth/siwe", {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, signature }),
  });
  const body = await answer.json();
  if (!answer.ok) { status.textContent = `Sign-in refused: ${body.detail}`; return; }
  status.textContent = `Signed in as ${body.name} (${body.kind})`;
  window.location.assign(element.dataset.next || "/");
}

async function signTransaction(unsigned) {
  // The browser's wallet when there is one; else the keystore the party signed in with, decrypted again here.
  const json = sessionStorage.getItem(KEYSTORE);
  if (window.ethereum && !json) {
    return window.ethereum.request({ method: "eth_signTransaction", params: [unsigned] });
  }
  if (!json) throw new Error("no wallet in this browser and no keystore: sign in again");
  const passphrase = document.getElementById("decision-pass").value;
  const wallet = await window.ethers.Wallet.fromEncryptedJson(json, passphrase);
  const tx = { to: unsigned.to, data: unsigned.data, nonce: Number(unsigned.nonce), gasLimit: unsigned.gas,
               chainId: BigInt(unsigned.chainId), value: unsigned.value || 0 };
  for (const fee of ["maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"]) {
    if (unsigned[fee] !== undefined) tx[fee] = unsigned[fee];
  }
  if (unsigned.type !== undefined) tx.type = Number(unsigned.type);
  return wallet.signTransaction(tx);
}

function toHex(text) {
  return "0x" + Array.from(new TextEncoder().encode(text)).map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function checksum(address) {
  // EIP-4361 wants the address in its EIP-55 form; wallets often answer in lower case (ethers, from npm).
  return window.ethers.getAddress(address);
}

async function decide(button) {
  // The console builds the unsigned transaction; the lender's own wallet signs it here; the console sends it.
  const status = document.getElementById("decision-status");
  const { loan, decision } = button.dataset;
  document.querySelectorAll("button.decision").forEach((b) => { b.disabled = true; });
  try {
    const built = await fetch(`/api/loans/${loan}/decision`, {
      method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
      body: JSON.stringify({ decision }),
    });
    const unsigned = await built.json();
    if (!built.ok) throw new Error(unsigned.detail);
    status.textContent = "Sign the transaction in your wallet…";
    const raw = await signTransaction(unsigned.tx);
    const sent = await fetch("/api/tx", {
      method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
      body: JSON.stringify({ raw }),
    });
    const result = await sent.json();
    if (!sent.ok) throw new Error(result.detail);
    status.textContent = `${decision} mined in block ${result.block} (tx ${result.tx})`;
    status.dataset.done = "true";
  } catch (err) {
    status.textContent = `The ${decision} failed: ${err.message || err}`;
    document.querySelectorAll("button.decision").forEach((b) => { b.disabled = false; });
  }
}

function sankey(el) {
  if (!window.echarts) { el.textContent = "charts unavailable (the ECharts file is missing: run make install)"; return; }
  const links = JSON.parse(el.dataset.links || "[]");
  if (!links.length) { el.textContent = "no money moved yet"; el.classList.add("empty"); return; }
  const names = [...new Set(links.flatMap((l) => [l.source, l.target]))];
  const chart = window.echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    tooltip: { formatter: (p) => p.data.amount ? `${p.data.source} → ${p.data.target}: ${p.data.amount.text}` : p.name },
    series: [{
      type: "sankey", emphasis: { focus: "adjacency" }, nodeAlign: "left",
      data: names.map((name) => ({ name })),
      // Values in minor units as numbers only for the widths; the labels carry the exact text with currency.
      links: links.map((l) => ({ source: l.source, target: l.target, value: Number(l.units), amount: l.amount })),
      label: { formatter: (p) => p.name },
    }],
  });
  el.dataset.rendered = "true";
}

// The collateral's value over time from the oracle's readings (GET /api/loans/{id}/readings), with the
// quantity counted on a second axis; the principal as a reference line.
async function readings(el) {
  if (!window.echarts) { el.textContent = "charts unavailable (the ECharts file is missing: run make install)"; return; }
  const answer = await fetch(el.dataset.url, { credentials: "same-origin" });
  const data = await answer.json();
  if (!answer.ok) { el.textContent = data.detail || "readings unavailable"; return; }
  if (!data.readings.length) {
    el.textContent = "no device watches this collateral"; el.classList.add("empty"); el.dataset.rendered = "true"; return;
  }
  const chart = window.echarts.init(el, null, { renderer: "svg" });
  const decimals = data.readings[0].collateral_value.decimals;
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: [`collateral value (${data.currency})`, "quantity counted"] },
    xAxis: { type: "time" },
    yAxis: [{ type: "value", name: data.currency }, { type: "value", name: "quantity" }],
    series: [
      { name: `collateral value (${data.currency})`, type: "line", step: "end",
        data: data.readings.map((r) => [r.time, Number(r.collateral_value.units) / 10 ** decimals]),
        markLine: { symbol: "none", data: [{ name: "principal", yAxis: Number(data.principal.units) / 10 ** decimals }],
                    label: { formatter: `principal ${data.principal.text}` } } },
      { name: "quantity counted", type: "line", step: "end", yAxisIndex: 1,
        data: data.readings.map((r) => [r.time, r.quantity]) },
    ],
  });
  el.dataset.rendered = "true";
}

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("siwe");
  if (button) button.addEventListener("click", () => signIn(button));
  const keystore = document.getElementById("keystore");
  if (keystore) keystore.addEventListener("submit", (event) => { event.preventDefault(); signInWithKeystore(keystore); });
  const unlock = document.getElementById("decision-keystore");
  if (unlock && sessionStorage.getItem(KEYSTORE)) unlock.hidden = false;
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => {
    await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
    window.location.assign("/login");
  });
  document.querySelectorAll("#sankey").forEach(sankey);
  document.querySelectorAll("#readings").forEach(readings);
  document.querySelectorAll("button.decision").forEach((b) => b.addEventListener("click", () => decide(b)));
});
