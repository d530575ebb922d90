const el=document.getElementById('countdown');
if(el){const end=Date.now()+1000*Number(el.dataset.secondsLeft);
const tick=()=>{const s=Math.max(0,Math.round((end-Date.now())/1000));
const h=Math.floor(s/3600),m=Math.floor(s%3600/60),r=s%60;
el.textContent=s>0?`${h}h ${String(m).padStart(2,'0')}m ${String(r).padStart(2,'0')}s`:'expired';
if(s>0)setTimeout(tick,1000);};tick();}
