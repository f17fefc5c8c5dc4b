fn main() {
    println!("llmwatch");
}
